-- The temporary-schema attack: a caller's pg_temp objects named like types or tables run the
-- caller's code inside a security definer function, as its owner, when the function's search_path
-- lets pg_temp come first (an empty path does: PostgreSQL still searches the temporary schema
-- first for types and tables). Every function pins `pg_catalog, pg_temp` (catalogue_search_path),
-- names every table with its schema, and no login role may create temporary objects at all.
--
-- Here the superuser plants the objects (the login roles cannot), shadowing types, tables (as
-- views) and an operator, then calls every security definer function of our schemas with empty
-- arguments: the planted code never runs as the owner. A definer function with an empty path,
-- made for the purpose, shows that the planted code would run.
begin;
select plan(9);

-- No login role of the application can create temporary objects.
select is_empty(
    $$select r.rolname::text from pg_catalog.pg_roles r
       where (r.rolname in ('mango_web', 'mango_customer', 'mango_partner')
              or r.rolname like 'mango\_agent\_%' or r.rolname like 'mango\_as\_%')
         and has_database_privilege(r.oid, current_database(), 'TEMPORARY')
       order by 1$$,
    'no login-facing or agent role has TEMPORARY on the database'
);
set local role mango_web;
select throws_ok(
    $$create temporary table pgtap_probe (x integer)$$, '42501', null,
    'the web client cannot create a temporary table'
);
reset role;
set local role mango_agent_flowcollector;
select throws_ok(
    $$create domain pg_temp.timestamptz as pg_catalog.timestamptz check (true)$$, '42501', null,
    'the flow collector cannot create a temporary domain'
);
reset role;

-- The planted objects. The evil function records who it runs as; it names nothing it shadows.
set local search_path = pg_catalog, public, pg_temp;
create temporary table evil_log (who pg_catalog.text);
grant all on evil_log to public;
create function pg_temp.evil(anyelement) returns pg_catalog.bool
language plpgsql set search_path = pg_catalog as $$
begin
  insert into pg_temp.evil_log values (current_user);
  return true;
end;
$$;
create function pg_temp.evil_eq(pg_catalog.text, pg_catalog.text) returns pg_catalog.bool
language plpgsql set search_path = pg_catalog as $$
begin
  insert into pg_temp.evil_log values (current_user);
  return $1 operator(pg_catalog.=) $2;
end;
$$;
grant execute on function pg_temp.evil(anyelement), pg_temp.evil_eq(pg_catalog.text, pg_catalog.text) to public;

do $$
declare
  v_type text;
  v_table text;
begin
  -- Types a function may name without a schema (the SQL keywords integer, bigint, boolean,
  -- numeric, interval, timestamp … always mean pg_catalog's; these names are looked up).
  foreach v_type in array array['text', 'int4', 'int8', 'bool', 'timestamptz', 'timestamp', 'date', 'jsonb', 'json',
                                'inet', 'cidr', 'bytea', 'tstzrange', 'daterange', 'uuid', 'macaddr', 'name',
                                'regclass', 'regrole', 'oid', 'float8', 'float4', 'int2'] loop
    execute format('create domain pg_temp.%I as pg_catalog.%I check (pg_temp.evil(value))', v_type, v_type);
  end loop;
  -- Tables and views of our schemas, by their bare names, as temporary views that run the code.
  for v_table in
    select distinct c.relname::text from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(auth.app_schemas()) and c.relkind in ('r', 'p', 'v') and not c.relispartition
  loop
    execute format('create view pg_temp.%I as select 1 as x where pg_temp.evil(1)', v_table);
  end loop;
end;
$$;
create operator pg_temp.= (leftarg = pg_catalog.text, rightarg = pg_catalog.text, function = pg_temp.evil_eq);

select cmp_ok(
    (select count(*)::integer from pg_catalog.pg_type t where t.typnamespace = pg_my_temp_schema()), '>=', 20,
    'the shadowing types are planted'
);

-- The control: a definer function with an empty path runs the planted code as its owner.
create function crm.pgtap_empty_path(p_at timestamptz) returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  v_when timestamptz := p_at;
begin
  return 1;
end;
$$;
alter function crm.pgtap_empty_path(timestamptz) owner to mango_owner;
select crm.pgtap_empty_path(now());
select ok(
    exists (select from pg_temp.evil_log where who = 'mango_owner'),
    'control: with search_path = '''' the planted type runs its code as the owner'
);
delete from pg_temp.evil_log;
drop function crm.pgtap_empty_path(timestamptz);

-- Every security definer function of our schemas, called with empty arguments (errors are fine:
-- what matters is what ran before them).
create temporary table called (fn pg_catalog.text, failed pg_catalog.bool);
do $$
declare
  v_fn record;
  v_args text;
begin
  for v_fn in
    select p.oid, p.oid::regprocedure::text as name, p.prokind, p.pronargs, p.proargtypes
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any(auth.app_schemas()) and p.prosecdef
       and p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
     order by 2
  loop
    select pg_catalog.string_agg(format('null::%s', t::regtype), ', ' order by i)
      into v_args
      from pg_catalog.unnest(v_fn.proargtypes::oid []) with ordinality as a (t, i);
    begin
      execute format(case when v_fn.prokind = 'p' then 'call %s(%s)' else 'select %s(%s)' end,
                     v_fn.oid::regproc, coalesce(v_args, ''));
      insert into pg_temp.called values (v_fn.name, false);
    exception when others then
      insert into pg_temp.called values (v_fn.name, true);
    end;
  end loop;
end;
$$;

select diag(format('%s security definer functions called, %s of them raised on empty arguments',
                   (select count(*) from pg_temp.called), (select count(*) from pg_temp.called where failed)));
select cmp_ok(
    (select count(*)::integer from pg_temp.called), '>=', 40,
    'every security definer function of our schemas was called'
);
select is_empty(
    $$select who from pg_temp.evil_log where who in ('mango_owner', 'mango_role_maker')$$,
    'none of them ran the planted types, views or operator as its owner'
);

-- And nothing that runs definer functions can create roles: the owner has no CREATEROLE, and the one
-- role that has it owns one function only, executable by the owner only.
select is_empty(
    $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
        join pg_catalog.pg_roles r on r.oid = p.proowner
       where p.prosecdef and r.rolcreaterole and p.oid <> 'auth.create_staff_role(text)'::regprocedure
       order by 1$$,
    'no role that owns definer functions holds CREATEROLE (but the role maker, for one function)'
);
select is_empty(
    $$select r.rolname::text from pg_catalog.pg_roles r
       where has_function_privilege(r.oid, 'auth.create_staff_role(text)', 'execute')
         and r.rolname <> 'mango_owner' and not r.rolsuper and r.rolname <> 'mango_role_maker'
       order by 1$$,
    'only the owner may call the role maker''s function'
);

select * from finish();
rollback;
