-- The catalogue (CAT-1…3): VAT by date, prices by date and zone, bundles, group discounts.

create or replace function catalog.vat_rate(p_vat_class text, p_on date)
returns numeric
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_rate numeric;
begin
  select rate into v_rate from catalog.vat_rates where vat_class = p_vat_class and valid @> p_on;
  if not found then
    raise exception 'no VAT rate of class % on %', p_vat_class, p_on using errcode = 'MG007';
  end if;
  return v_rate;
end;
$$;
comment on function catalog.vat_rate(text, date) is 'The VAT rate (percent) of a rate class on a date.';
revoke all on function catalog.vat_rate(text, date) from public;
grant execute on function catalog.vat_rate(text, date) to mango_office, mango_agent, mango_customer;

create or replace function catalog.tariff_price(p_tariff_id bigint, p_on date, p_zone_id bigint default null)
returns table (
    monthly_fee numeric, setup_fee numeric, price_mode text, vat_rate numeric,
    monthly_with_vat numeric, monthly_without_vat numeric
)
language sql stable security invoker
as $$
  -- The zone's price if it has one, else the general price; both ways of VAT, rounded to hellers.
  -- [inlined]: no `set search_path`, so that the planner inlines it into the query that calls it
  -- (every name is schema-qualified; operators and functions resolve in pg_catalog first).
  select pr.monthly_fee, pr.setup_fee, p.price_mode, r.rate,
         case p.price_mode when 'with_vat' then pr.monthly_fee
                           else round(pr.monthly_fee * (1 + r.rate / 100), 2) end,
         case p.price_mode when 'without_vat' then pr.monthly_fee
                           else round(pr.monthly_fee / (1 + r.rate / 100), 2) end
    from catalog.tariffs t
    join catalog.products p on p.id = t.product_id
    join catalog.prices pr on pr.tariff_id = t.id and pr.valid @> p_on
                          and (pr.zone_id = p_zone_id or pr.zone_id is null)
    join catalog.vat_rates r on r.vat_class = p.vat_class and r.valid @> p_on
   where t.id = p_tariff_id
   order by pr.zone_id nulls last
   limit 1;
$$;
comment on function catalog.tariff_price(bigint, date, bigint) is
'The price of a tariff on a date (zone first), with and without VAT. [inlined]';
revoke all on function catalog.tariff_price(bigint, date, bigint) from public;
grant execute on function catalog.tariff_price(bigint, date, bigint)
to mango_office, mango_agent, mango_customer;

create or replace function catalog.set_price(
    p_tariff_id bigint, p_from date, p_monthly_fee numeric, p_setup_fee numeric default 0, p_zone_id bigint default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A new price from a date: the open price period before it is closed the day before.
declare
  v_id bigint;
begin
  update catalog.prices set valid = daterange(lower(valid), p_from)
   where tariff_id = p_tariff_id and zone_id is not distinct from p_zone_id
     and valid @> p_from and lower(valid) < p_from and upper_inf(valid);
  insert into catalog.prices (tariff_id, zone_id, valid, monthly_fee, setup_fee)
  values (p_tariff_id, p_zone_id, daterange(p_from, null), p_monthly_fee, coalesce(p_setup_fee, 0))
  returning id into v_id;
  return v_id;
exception when exclusion_violation then
  raise exception 'tariff % already has a price from % on: prices may not overlap', p_tariff_id, p_from
    using errcode = 'MG008', column = 'valid';
end;
$$;
comment on function catalog.set_price(bigint, date, numeric, numeric, bigint) is
'Give a tariff a new price from a date, closing the running price period.';
revoke all on function catalog.set_price(bigint, date, numeric, numeric, bigint) from public;
grant execute on function catalog.set_price(bigint, date, numeric, numeric, bigint) to mango_admin;

create or replace trigger _100_timestamps before update on catalog.products
for each row execute function audit.tg__updated_at();
create or replace trigger _100_timestamps before update on catalog.tariffs
for each row execute function audit.tg__updated_at();

-- Everyone on the staff reads the catalogue; only administrators change it.
do $$
declare
  v_table text;
begin
  foreach v_table in array array['classes', 'vat_rates', 'zones', 'products', 'tariffs', 'prices', 'bundles',
                                 'bundle_items'] loop
    execute format('alter table catalog.%I enable row level security', v_table);
    execute format('drop policy if exists staff_select_all on catalog.%I', v_table);
    execute format('create policy staff_select_all on catalog.%I for select to mango_staff, mango_agent_scheduler, '
                   'mango_agent_documents, mango_agent_provisioner, mango_customer using (true)', v_table);
    execute format('drop policy if exists admin_write_all on catalog.%I', v_table);
    execute format('create policy admin_write_all on catalog.%I for all to mango_staff '
                   'using ((select auth.may(''admin''))) with check ((select auth.may(''admin'')))', v_table);
    execute format('grant select on catalog.%I to mango_office, mango_agent_scheduler, mango_agent_documents, '
                   'mango_agent_provisioner, mango_customer', v_table);
    execute format('grant insert, update, delete on catalog.%I to mango_admin', v_table);
    execute format('select audit.enable(%L)', 'catalog.' || v_table);
  end loop;
end;
$$;

alter table catalog.customer_discounts enable row level security;
drop policy if exists staff_select_all on catalog.customer_discounts;
create policy staff_select_all on catalog.customer_discounts for select
to mango_staff, mango_agent_scheduler, mango_agent_documents using (true);
drop policy if exists front_write_all on catalog.customer_discounts;
create policy front_write_all on catalog.customer_discounts for all to mango_staff using (true) with check (true);
-- `on table` (the default) spelt out: sqlfluff cannot parse `grant … on catalog.<name>` without it.
grant select on table catalog.customer_discounts to mango_office, mango_agent_scheduler, mango_agent_documents;
grant insert, update, delete on table catalog.customer_discounts to mango_sales, mango_billing;
select audit.enable('catalog.customer_discounts');
