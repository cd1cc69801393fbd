-- The price of a tariff on a date, with and without VAT, whichever way it was entered; a zone
-- price wins over the general one.
begin;
select plan(6);

select tests.make_operator() as op \gset
select tests.make_tariff(605, :op) as gross \gset
select tests.make_tariff(500, :op, 'without_vat') as net \gset
select tests.make_tariff(500, :op, 'with_vat', 'reduced') as reduced \gset
insert into catalog.zones (operator_id, name) values (:op, 'Village') returning id as zone \gset
insert into catalog.prices (tariff_id, zone_id, valid, monthly_fee) values (:gross, :zone, daterange('2020-01-01', null), 484);

call tests.as_staff('{support}');
select is((select (monthly_fee, price_mode, vat_rate, monthly_with_vat, monthly_without_vat)::text
             from catalog.tariff_price(:gross, '2024-05-01')),
  '(605.00,with_vat,21.00,605.00,500.00)', 'a price entered with VAT gives its amount without VAT');
select is((select (monthly_fee, price_mode, vat_rate, monthly_with_vat, monthly_without_vat)::text
             from catalog.tariff_price(:net, '2024-05-01')),
  '(500.00,without_vat,21.00,605.00,500.00)', 'a price entered without VAT gives its amount with VAT');
select is((select (monthly_with_vat, monthly_without_vat)::text from catalog.tariff_price(:reduced, '2023-05-01')),
  '(500.00,434.78)', 'the reduced rate of 2023 (15 %), rounded to hellers');
select is((select (monthly_with_vat, monthly_without_vat)::text from catalog.tariff_price(:reduced, '2024-05-01')),
  '(500.00,446.43)', 'the reduced rate of 2024 (12 %)');
select is((select (monthly_with_vat, monthly_without_vat)::text from catalog.tariff_price(:gross, '2024-05-01', :zone)),
  '(484.00,400.00)', 'the zone''s own price wins');
select is_empty(format($$select * from catalog.tariff_price(%s, '2019-12-31')$$, :gross), 'no price before the first period');

select * from finish();
rollback;
