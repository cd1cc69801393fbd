-- How many services a tariff carries on a date (the catalogue's product page, CAT-2), at any size:
-- exact up to 1,000, above that the planner's estimate.

create or replace function catalog.tariff_services(p_tariff_id bigint, p_on date default current_date)
returns table (services bigint, estimated boolean)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: under row-level security PostgreSQL uses no column statistics for an operator that is
-- not leakproof (a range's @>), so a staff user's plan guesses: it walks the exclusion index over
-- every period current on that date instead of this tariff's index, and its estimate is a fixed
-- fraction. The owner's plans use the statistics. It answers only a count of rows that every
-- staff role reads, and only to a signed-in staff user. Dynamic SQL: planned for this tariff.
-- Volatile only because PostgreSQL allows EXPLAIN in no other function; it writes nothing.
declare
  v_count bigint;
  v_plan json;
begin
  perform auth.require_role('staff');
  execute 'select count(*) from (select from crm.service_tariffs st'
          ' where st.tariff_id = $1 and st.valid @> $2 limit 1001) as capped'
    into v_count using p_tariff_id, p_on;
  if v_count <= 1000 then
    return query select v_count, false;
    return;
  end if;
  execute 'explain (format json) select from crm.service_tariffs st where st.tariff_id = $1 and st.valid @> $2'
    into v_plan using p_tariff_id, p_on;
  return query select greatest((v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint, 1001), true;
end;
$$;
comment on function catalog.tariff_services(bigint, date) is
'How many services have a tariff on a date: exact up to 1,000, else the planner''s estimate (estimated).';
revoke all on function catalog.tariff_services(bigint, date) from public;
grant execute on function catalog.tariff_services(bigint, date) to mango_office;
