-- Enquiry → offer → order → accepted/rejected (CAT-5). Accepting applies the order on its date.
-- catalog.place_order is the one function staff and self-care use to place orders.

create or replace function catalog.order_prices(
    p_kind text, p_customer_id bigint, p_service_id bigint, p_tariff_id bigint, p_bundle_id bigint, p_on date,
    out price_before numeric, out price_after numeric
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Monthly price with VAT before and after the order, as the customer pays it: after the bundle's
-- discount and the customer's group discount (catalog.price_for), so that an order and the card
-- agree. A tariff change keeps the service's bundle discount only if the new tariff is one of the
-- bundle's items too.
declare
  v_bundle bigint;
begin
  if p_service_id is not null then
    select s.bundle_id into v_bundle from crm.services s where s.id = p_service_id;
    select sp.monthly_with_vat into price_before from catalog.service_price(p_service_id, p_on) sp;
  end if;
  price_after := case p_kind
    when 'cancel' then 0
    when 'change_params' then price_before
    else coalesce((select pf.monthly_with_vat from catalog.price_for(p_tariff_id, p_on, v_bundle, p_customer_id) pf),
                  (select sum(pf.monthly_with_vat)
                     from catalog.bundle_items i
                    cross join lateral catalog.price_for(i.tariff_id, p_on, i.bundle_id, p_customer_id) pf
                    where i.bundle_id = p_bundle_id))
  end;
end;
$$;
comment on function catalog.order_prices(text, bigint, bigint, bigint, bigint, date) is
'Monthly price with VAT before and after an order, after bundle and group discounts.';
revoke all on function catalog.order_prices(text, bigint, bigint, bigint, bigint, date) from public;
grant execute on function catalog.order_prices(text, bigint, bigint, bigint, bigint, date)
to mango_office, mango_customer;

create or replace function catalog.place_order(
    p_customer_id bigint, p_kind text, p_service_id bigint default null, p_tariff_id bigint default null,
    p_bundle_id bigint default null, p_delivery_place_id bigint default null, p_params jsonb default '{}',
    p_effective_on date default null, p_note text default null, p_stage text default 'order'
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint;
  v_operator bigint;
  v_prices record;
begin
  if p_stage is null or p_stage not in ('enquiry', 'offer', 'order') then
    raise exception 'a new order starts as an enquiry, offer or order' using errcode = 'MG009', column = 'stage';
  end if;
  if p_kind is distinct from 'activate' and p_service_id is null then
    raise exception 'choose the service the order is about' using errcode = 'MG009', column = 'service_id';
  end if;
  if p_kind in ('activate', 'change_tariff') and p_tariff_id is null and p_bundle_id is null then
    raise exception 'choose a tariff or a bundle' using errcode = 'MG009', column = 'tariff_id';
  end if;
  if p_service_id is not null
     and not exists (select from crm.services where id = p_service_id and customer_id = p_customer_id) then
    raise exception 'service % is not a service of this customer', p_service_id using errcode = 'MG009', column = 'service_id';
  end if;
  v_operator := coalesce(
    (select operator_id from crm.services where id = p_service_id),
    (select p.operator_id from catalog.tariffs t join catalog.products p on p.id = t.product_id where t.id = p_tariff_id),
    (select operator_id from catalog.bundles where id = p_bundle_id));
  if v_operator is null then
    raise exception 'the order needs a service, a tariff or a bundle' using errcode = 'MG009', column = 'tariff_id';
  end if;
  p_effective_on := coalesce(p_effective_on, crm.business_date(v_operator));  -- today by default
  select * into v_prices
    from catalog.order_prices(p_kind, p_customer_id, p_service_id, p_tariff_id, p_bundle_id, p_effective_on);
  insert into catalog.orders (customer_id, operator_id, kind, stage, service_id, tariff_id, bundle_id, delivery_place_id,
                              params, effective_on, price_before, price_after, salesperson_id, source, note)
  values (p_customer_id, v_operator, p_kind, p_stage, p_service_id, p_tariff_id, p_bundle_id, p_delivery_place_id,
          coalesce(p_params, '{}'), p_effective_on, v_prices.price_before, v_prices.price_after,
          case when auth.has_role('sales') then auth.user_id() end,
          case when auth.has_role('staff') then 'staff' else 'selfcare' end, p_note)
  returning id into v_id;
  insert into catalog.order_events (order_id, stage, note, user_id, db_role)
  values (v_id, p_stage, p_note, auth.user_id(), auth.caller_role());
  return v_id;
end;
$$;
comment on function catalog.place_order(bigint, text, bigint, bigint, bigint, bigint, jsonb, date, text, text) is
'Place an enquiry, offer or order (activate, cancel, change parameters, change tariff) for a customer.';
revoke all on function catalog.place_order(bigint, text, bigint, bigint, bigint, bigint, jsonb, date, text, text)
from public;
grant execute on function catalog.place_order(bigint, text, bigint, bigint, bigint, bigint, jsonb, date, text, text)
to mango_support, mango_sales, mango_billing, mango_customer;

create or replace function catalog.apply_order(p_order_id bigint)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Carry out an accepted order on the service; the order is then done.
declare
  v_order catalog.orders;
  v_ids bigint [];
begin
  select * into v_order from catalog.orders where id = p_order_id and stage = 'accepted' for update;
  if not found then
    raise exception 'order % is not accepted', p_order_id using errcode = 'MG009';
  end if;
  case v_order.kind
    when 'activate' then
      if v_order.bundle_id is not null then
        v_ids := crm.activate_bundle(v_order.customer_id, v_order.bundle_id, v_order.effective_on,
                                     v_order.delivery_place_id, jsonb_build_object('note', 'order ' || v_order.id));
      else
        v_ids := array[crm.activate_service(v_order.customer_id, v_order.tariff_id, v_order.effective_on,
                                            v_order.delivery_place_id,
                                            jsonb_build_object('params', v_order.params, 'note', 'order ' || v_order.id))];
      end if;
      update catalog.orders set service_id = v_ids[1] where id = p_order_id;
    when 'cancel' then
      perform crm.end_service(v_order.service_id, v_order.effective_on, 'order ' || v_order.id);
    when 'change_params' then
      perform crm.set_parameters('service', v_order.service_id, v_order.params);
    when 'change_tariff' then
      perform crm.change_tariff(v_order.service_id, v_order.tariff_id, v_order.effective_on);
  end case;
  update catalog.orders set stage = 'done' where id = p_order_id;
  insert into catalog.order_events (order_id, stage, note, user_id, db_role)
  values (p_order_id, 'done', null, auth.user_id(), auth.caller_role());
end;
$$;
comment on function catalog.apply_order(bigint) is 'Carry out an accepted order on the customer''s services.';
revoke all on function catalog.apply_order(bigint) from public;
grant execute on function catalog.apply_order(bigint)
to mango_support, mango_sales, mango_billing, mango_agent_scheduler;

create or replace function catalog.advance_order(p_order_id bigint, p_stage text, p_note text default null)
returns text
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Allowed steps: enquiry → offer | rejected | cancelled; offer → order | rejected | cancelled;
-- order → accepted | rejected | cancelled. A rejection says why (the note). An accepted order
-- whose date has come is applied now.
declare
  v_order catalog.orders;
begin
  select * into v_order from catalog.orders where id = p_order_id for update;
  if not found then
    raise exception 'order % does not exist or is not visible to you', p_order_id using errcode = 'MG009';
  end if;
  if not ((v_order.stage = 'enquiry' and p_stage in ('offer', 'rejected', 'cancelled'))
          or (v_order.stage = 'offer' and p_stage in ('order', 'rejected', 'cancelled'))
          or (v_order.stage = 'order' and p_stage in ('accepted', 'rejected', 'cancelled'))) then
    raise exception 'an order in stage % cannot move to %', v_order.stage, p_stage using errcode = 'MG009';
  end if;
  if p_stage = 'rejected' and coalesce(btrim(p_note), '') = '' then
    raise exception 'say why the order is rejected' using errcode = 'MG009', column = 'note';
  end if;
  update catalog.orders set stage = p_stage, reject_reason = case when p_stage = 'rejected' then btrim(p_note) end
   where id = p_order_id;
  insert into catalog.order_events (order_id, stage, note, user_id, db_role)
  values (p_order_id, p_stage, p_note, auth.user_id(), auth.caller_role());
  if p_stage = 'accepted' and v_order.effective_on <= crm.business_date(v_order.operator_id) then
    perform catalog.apply_order(p_order_id);
    return 'done';
  end if;
  return p_stage;
end;
$$;
comment on function catalog.advance_order(bigint, text, text) is
'Move an order to its next stage; accepting applies it on its date.';
revoke all on function catalog.advance_order(bigint, text, text) from public;
grant execute on function catalog.advance_order(bigint, text, text) to mango_support, mango_sales, mango_billing;

create or replace function catalog.apply_due_orders(p_today date default null)
returns integer
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint;
  v_count integer := 0;
begin
  -- By default on each operator's business date.
  for v_id in select id from catalog.orders
               where stage = 'accepted' and effective_on <= coalesce(p_today, crm.business_date(operator_id))
               order by effective_on, id loop
    perform catalog.apply_order(v_id);
    v_count := v_count + 1;
  end loop;
  return v_count;
end;
$$;
comment on function catalog.apply_due_orders(date) is 'Daily: carry out accepted orders whose date has come.';
revoke all on function catalog.apply_due_orders(date) from public;
grant execute on function catalog.apply_due_orders(date) to mango_agent_scheduler, mango_admin;

create or replace trigger _100_timestamps before update on catalog.orders
for each row execute function audit.tg__updated_at();

alter table catalog.orders enable row level security;
alter table catalog.order_events enable row level security;
drop policy if exists staff_select_all on catalog.orders;
create policy staff_select_all on catalog.orders for select to mango_staff, mango_agent_scheduler using (true);
drop policy if exists front_write_all on catalog.orders;
create policy front_write_all on catalog.orders for all to mango_staff, mango_agent_scheduler
using (true) with check (true);
-- `on table` (the default) spelt out: sqlfluff cannot parse `grant … on catalog.<name>` without it.
grant select on table catalog.orders to mango_office, mango_agent_scheduler;
grant insert, update on table catalog.orders to mango_support, mango_sales, mango_billing, mango_agent_scheduler;
drop policy if exists staff_select_all on catalog.order_events;
create policy staff_select_all on catalog.order_events for select to mango_staff, mango_agent_scheduler using (true);
drop policy if exists front_insert_all on catalog.order_events;
create policy front_insert_all on catalog.order_events for insert to mango_staff, mango_agent_scheduler
with check (true);
grant select on table catalog.order_events to mango_office, mango_agent_scheduler;
grant insert on table catalog.order_events to mango_support, mango_sales, mango_billing, mango_agent_scheduler;
select audit.enable('catalog.orders');
