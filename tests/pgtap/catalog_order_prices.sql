-- An order shows the monthly price with VAT before and after it (price_before / price_after).
begin;
select plan(6);

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

select * from finish();
rollback;
