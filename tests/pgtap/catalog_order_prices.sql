-- An order shows the monthly price with VAT before and after it (price_before / price_after), as the
-- customer pays it: after the bundle's and the customer's group discounts, as the card shows it.
begin;
select plan(10);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_tariff(400, :op) as slow \gset
select tests.make_tariff(600, :op) as fast \gset
select tests.make_tariff(1000, :op, 'without_vat') as business \gset
select tests.make_tariff(200, :op) as tv \gset
insert into catalog.bundles (operator_id, code, name) values (:op, 'net_tv', 'Internet + TV') returning id as bundle \gset
insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent) values (:bundle, :slow, 10), (:bundle, :tv, 0);

call tests.as_staff('{sales}');
select crm.activate_service(:cust, :slow, '2024-01-01') as svc \gset

select catalog.place_order(:cust, 'change_tariff', :svc, :fast) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(400.00,600.00)',
  'a tariff change shows the old and the new monthly price');
select catalog.place_order(:cust, 'change_tariff', :svc, :business) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(400.00,1210.00)',
  'a price entered without VAT is shown with VAT');
select catalog.place_order(:cust, 'cancel', :svc) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(400.00,0.00)',
  'a cancellation brings the price to zero');
select catalog.place_order(:cust, 'change_params', :svc, p_params => '{"note": "x"}') as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(400.00,400.00)',
  'a change of parameters keeps the price');
select catalog.place_order(:cust, 'activate', p_tariff_id => :tv) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(,200.00)',
  'a new service has no price before');
select catalog.place_order(:cust, 'activate', p_bundle_id => :bundle) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(,560.00)',
  'a bundle costs the sum of its items after their discounts');


-- In a bundle the service costs what the card says; leaving the bundle's tariffs ends its discount.
select crm.activate_bundle(:cust, :bundle, '2024-01-01') as ids \gset
select (:'ids'::bigint [])[1] as bundled \gset
select catalog.place_order(:cust, 'change_tariff', :bundled, :fast) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(360.00,600.00)',
  'a service of a bundle costs its discounted price before, the new tariff its list price after');
select is((select price_before from catalog.orders where id = :ord),
  (select monthly_with_vat from catalog.service_price(:bundled, current_date)), 'the price before is the card''s');
call tests.as_superuser();

-- A group discount lowers what a new service and a changed one will cost.
insert into catalog.customer_discounts (customer_id, percent, valid, reason)
values (:cust, 20, daterange('2024-01-01', null), 'loyal');
call tests.as_staff('{sales}');
select catalog.place_order(:cust, 'activate', p_tariff_id => :tv) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(,160.00)',
  'a new service after the customer''s group discount');
select catalog.place_order(:cust, 'change_tariff', :svc, :fast) as ord \gset
select is((select (price_before, price_after)::text from catalog.orders where id = :ord), '(320.00,480.00)',
  'a tariff change after the group discount, before and after');

select * from finish();
rollback;
