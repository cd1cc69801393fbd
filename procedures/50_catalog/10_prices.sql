-- What a service or a tariff costs a customer on a date (CAT-2, CAT-3): the list price less the
-- bundle's and the group discount. Small SQL functions the planner inlines into the queries that
-- price many rows at once (the customer card, orders).

create or replace function catalog.price_for(
    p_tariff_id bigint, p_on date, p_bundle_id bigint default null, p_customer_id bigint default null
)
returns table (
    price_mode text, vat_rate numeric, list_with_vat numeric, list_without_vat numeric,
    bundle_discount numeric, group_discount numeric, monthly_with_vat numeric, monthly_without_vat numeric
)
language sql stable security invoker
as $$
  -- The monthly price of a tariff on a date for a customer and a bundle: the list price, less the
  -- bundle's discount on that tariff (if the tariff is one of the bundle's items) and the
  -- customer's group discount of that date, one after the other. The discounted amount is rounded
  -- to hellers in the product's price mode and the other amount derived from it, as
  -- catalog.tariff_price does. What a service costs (catalog.service_price) and what an order
  -- promises (catalog.order_prices) are both this.
  -- [inlined]: no `set search_path`, so that the planner inlines it (see catalog.tariff_price).
  select tp.price_mode, tp.vat_rate, tp.monthly_with_vat, tp.monthly_without_vat,
         coalesce(bi.discount_percent, 0), coalesce(cd.percent, 0),
         case when tp.price_mode = 'with_vat' then d.amount else round(d.amount * (1 + tp.vat_rate / 100), 2) end,
         case when tp.price_mode = 'without_vat' then d.amount else round(d.amount / (1 + tp.vat_rate / 100), 2) end
    from catalog.tariff_price(p_tariff_id, p_on) tp
    left join catalog.bundle_items bi on bi.bundle_id = p_bundle_id and bi.tariff_id = p_tariff_id
    left join catalog.customer_discounts cd on cd.customer_id = p_customer_id and cd.valid @> p_on
   cross join lateral (
     select round(tp.monthly_fee * (1 - coalesce(bi.discount_percent, 0) / 100)
                                 * (1 - coalesce(cd.percent, 0) / 100), 2) as amount
   ) d;
$$;
comment on function catalog.price_for(bigint, date, bigint, bigint) is
'The monthly price of a tariff on a date, less a bundle''s and a customer''s group discount. [inlined]';
revoke all on function catalog.price_for(bigint, date, bigint, bigint) from public;
grant execute on function catalog.price_for(bigint, date, bigint, bigint) to mango_office, mango_agent, mango_customer;

create or replace function catalog.service_price(p_service_id bigint, p_on date default crm.business_date())
returns table (
    tariff_id bigint, price_mode text, vat_rate numeric, list_with_vat numeric, list_without_vat numeric,
    bundle_discount numeric, group_discount numeric, monthly_with_vat numeric, monthly_without_vat numeric
)
language sql stable security invoker
as $$
  -- The monthly price of a service on a date: its tariff's (catalog.price_for) with the discount of
  -- the bundle it was activated in (while it keeps one of that bundle's tariffs) and the
  -- customer's group discount of that date.
  -- [inlined]: no `set search_path`, so that the planner inlines it (see catalog.tariff_price).
  select x.tariff_id, p.price_mode, p.vat_rate, p.list_with_vat, p.list_without_vat, p.bundle_discount,
         p.group_discount, p.monthly_with_vat, p.monthly_without_vat
    from crm.services s
   cross join lateral crm.tariff_on(s.id, p_on) x
   cross join lateral catalog.price_for(x.tariff_id, p_on, s.bundle_id, s.customer_id) p
   where s.id = p_service_id;
$$;
comment on function catalog.service_price(bigint, date) is
'The monthly price of a service on a date, list price less bundle and group discounts. [inlined]';
revoke all on function catalog.service_price(bigint, date) from public;
grant execute on function catalog.service_price(bigint, date) to mango_office, mango_agent;
