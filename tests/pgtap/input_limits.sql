-- Bad input is refused by the tables themselves: every numeric, real and double precision column of
-- our schemas refuses NaN, Infinity and -Infinity (a column added later too), a NaN price leaves
-- the tariff's running price alone, texts people type have a length limit, and no limit lets a
-- text outgrow a B-tree entry.
begin;
select plan(9);

-- Each number column with what its check constraints (or its type) do with NaN and ±Infinity: a
-- value is refused when the column's type cannot hold it or one of its single-column checks is
-- false for it (a check that is null lets the value through, as PostgreSQL does).
create temporary table number_columns as
select n.nspname as schema_name, c.relname as table_name, a.attname as column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) as column_type,
       coalesce(array_agg(pg_catalog.pg_get_expr(k.conbin, k.conrelid)) filter (where k.oid is not null), '{}')
         as checks
  from pg_catalog.pg_attribute a
  join pg_catalog.pg_class c on c.oid = a.attrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_roles r on r.oid = n.nspowner and r.rolname = 'mango_owner'
  left join pg_catalog.pg_constraint k on k.conrelid = c.oid and k.contype = 'c' and k.conkey = array[a.attnum]
 where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p') and not c.relispartition
   and a.atttypid in ('numeric'::regtype, 'real'::regtype, 'double precision'::regtype)
 group by 1, 2, 3, 4;

create function pg_temp.refuses(p_type text, p_column text, p_checks text[], p_value text)
returns boolean
language plpgsql volatile set search_path = pg_catalog, pg_temp
as $$
declare
  v_check text;
  v_ok boolean;
begin
  begin
    execute format('select %L::%s', p_value, p_type);
  exception when others then
    return true;  -- the type cannot hold it
  end;
  foreach v_check in array p_checks loop
    execute format('select %s', regexp_replace(v_check, '\m' || p_column || '\M', format('(%L::%s)', p_value, p_type), 'g'))
      into v_ok;
    if v_ok is false then
      return true;
    end if;
  end loop;
  return false;
end;
$$;

select cmp_ok(
  (select count(*)::integer from pg_temp.number_columns), '>=', 16,
  'the number columns of our schemas are found in the catalogue'
);
select is(
  (select coalesce(array_agg(format('%s.%s.%s lets %s through', schema_name, table_name, column_name, v)
                             order by 1), '{}')
     from pg_temp.number_columns
    cross join unnest(array['NaN', 'Infinity', '-Infinity']) v
    where not pg_temp.refuses(column_type, column_name, checks, v)),
  '{}'::text[],
  'every numeric, real and double precision column refuses NaN, Infinity and -Infinity'
);

-- The price that started it: NaN was taken, closed the running price and broke the tariff page.
select tests.make_tariff(500) as tariff \gset
call tests.as_staff('{admin}');
select throws_ok(
  format($$select catalog.set_price(%s, '2024-01-01', 'NaN')$$, :tariff),
  '23514', 'new row for relation "prices" violates check constraint "prices_monthly_fee_finite_check"',
  'a NaN price is refused, and the constraint names the field'
);
select throws_ok(
  format($$insert into catalog.prices (tariff_id, valid, monthly_fee) values (%s, daterange('2030-01-01', null), 'NaN')$$,
         :tariff),
  '23514', null,
  'a NaN price is refused however it is written'
);
call tests.as_superuser();
select results_eq(
  format($$select lower(valid), upper(valid), monthly_fee from catalog.prices where tariff_id = %s$$, :tariff),
  $$values ('2020-01-01'::date, null::date, 500.00::numeric)$$,
  'the running price stays as it was'
);

-- Texts: a note longer than its limit is refused by a constraint that names the column.
select tests.make_customer() as cust \gset
call tests.as_staff('{support}');
select throws_ok(
  format($$update crm.customers set note = repeat('x', 2001) where id = %s$$, :cust),
  '23514', 'new row for relation "customers" violates check constraint "customers_note_length_check"',
  'a customer note over 2,000 characters is refused'
);
select lives_ok(
  format($$update crm.customers set note = repeat('ř', 2000) where id = %s$$, :cust),
  'a note of 2,000 characters is kept'
);
call tests.as_superuser();

-- Length limits, as the web client reads them: `length(col) <= N` on one column.
create temporary table text_limits as
select c.oid as table_oid, a.attnum, n.nspname || '.' || c.relname || '.' || a.attname as name,
       (regexp_match(pg_catalog.pg_get_constraintdef(k.oid), '^CHECK \(\(length\(\(?\w+\)?(?:::text)?\) <= (\d+)\)\)$'))[1]::integer
         as max_length
  from pg_catalog.pg_constraint k
  join pg_catalog.pg_class c on c.oid = k.conrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = k.conkey[1]
 where k.contype = 'c' and cardinality(k.conkey) = 1 and k.conname like '%\_length\_check';

select is(
  (select array_agg(name order by name) from pg_temp.text_limits
    where name in ('crm.customers.note', 'crm.customers.last_name', 'crm.contacts.value', 'crm.delivery_places.street',
                   'catalog.tariffs.name', 'catalog.orders.reject_reason', 'net.devices.name', 'flow.lawful_cases.note',
                   'crm.operators.name', 'crm.parameter_values.value') and max_length is not null),
  array['catalog.orders.reject_reason', 'catalog.tariffs.name', 'crm.contacts.value', 'crm.customers.last_name',
        'crm.customers.note', 'crm.delivery_places.street', 'crm.operators.name', 'crm.parameter_values.value',
        'flow.lawful_cases.note', 'net.devices.name'],
  'the texts people type have length limits the web client can read'
);
-- A B-tree entry holds about 2,700 bytes; a character takes up to four.
select is(
  (select coalesce(array_agg(distinct l.name order by l.name), '{}')
     from pg_temp.text_limits l
     join pg_catalog.pg_index i on i.indrelid = l.table_oid and l.attnum = any(i.indkey)
     join pg_catalog.pg_class ic on ic.oid = i.indexrelid
     join pg_catalog.pg_am am on am.oid = ic.relam and am.amname = 'btree'
    where l.max_length > 675),
  '{}'::text[],
  'no length limit of an indexed text lets it outgrow a B-tree entry'
);

select * from finish();
rollback;
