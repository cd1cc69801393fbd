-- Time bands and rate tables (BIL-3): billing staff keep them (a rate sheet is billing's, as the
-- tariffs are the administrators'), support reads them to explain a call's price. A price change is
-- a new dated rate (billing.set_rate), so that calls keep the price of their day; rating a period
-- again after a change prices it anew until the period is billed.

create or replace function billing.set_rate(
    p_destination_id bigint, p_band_id bigint, p_from date, p_price_per_minute numeric,
    p_connection_fee numeric default 0, p_first_increment integer default 60, p_next_increment integer default 60
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The rate of a destination in a time band (null: every band without a rate of its own) from a
-- date on: the running rate ends the day before, a later one is replaced.
declare
  v_operator bigint;
  v_id bigint;
begin
  select d.operator_id into v_operator from billing.destinations d where d.id = p_destination_id;
  if not found then
    raise exception 'there is no destination %', p_destination_id using errcode = 'MG857', column = 'destination_id';
  end if;
  if p_band_id is not null
     and not exists (select from billing.time_bands b where b.id = p_band_id and b.operator_id = v_operator) then
    raise exception 'time band % is not one of this operator''s', p_band_id using errcode = 'MG857', column = 'band_id';
  end if;
  if p_from is null then
    raise exception 'from which day?' using errcode = 'MG857', column = 'valid';
  end if;
  delete from billing.rates r
   where r.destination_id = p_destination_id and r.band_id is not distinct from p_band_id and lower(r.valid) >= p_from;
  update billing.rates r set valid = daterange(lower(r.valid), p_from)
   where r.destination_id = p_destination_id and r.band_id is not distinct from p_band_id and r.valid @> p_from;
  insert into billing.rates (operator_id, destination_id, band_id, valid, price_per_minute, connection_fee,
                             first_increment, next_increment)
  values (v_operator, p_destination_id, p_band_id, daterange(p_from, null), p_price_per_minute,
          coalesce(p_connection_fee, 0), coalesce(p_first_increment, 60), coalesce(p_next_increment, 60))
  returning id into v_id;
  return v_id;
end;
$$;
comment on function billing.set_rate(bigint, bigint, date, numeric, numeric, integer, integer) is
'Set the price per minute, connection fee and increments of a destination in a time band from a date on.';
revoke all on function billing.set_rate(bigint, bigint, date, numeric, numeric, integer, integer) from public;
grant execute on function billing.set_rate(bigint, bigint, date, numeric, numeric, integer, integer) to mango_billing;

do $$
declare
  v_table text;
begin
  foreach v_table in array array['time_bands', 'time_band_hours', 'holidays', 'rate_tables', 'destinations', 'rates']
  loop
    execute format('alter table billing.%I enable row level security', v_table);
    execute format('drop policy if exists staff_select_all on billing.%I', v_table);
    execute format('create policy staff_select_all on billing.%I for select to mango_staff using (true)', v_table);
    execute format('drop policy if exists billing_write_all on billing.%I', v_table);
    execute format('create policy billing_write_all on billing.%I for all to mango_staff '
                   'using ((select auth.may(''billing''))) with check ((select auth.may(''billing'')))', v_table);
    execute format('revoke all on table billing.%I from public', v_table);
    execute format('grant select on table billing.%I to mango_billing, mango_support', v_table);
    execute format('grant insert, update, delete on table billing.%I to mango_billing', v_table);
    execute format('select audit.enable(%L)', 'billing.' || v_table);
  end loop;
end;
$$;
