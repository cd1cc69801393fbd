-- A tariff never has two prices at once: the exclusion constraint refuses an overlapping period,
-- and catalog.set_price turns that into MG008 with a message a person can act on.
begin;
select plan(7);

select tests.make_tariff(500) as tariff \gset

select throws_ok(
  format($$insert into catalog.prices (tariff_id, valid, monthly_fee) values (%s, daterange('2023-01-01', null), 600)$$,
         :tariff),
  '23P01', null,
  'a second open price overlapping the first is refused by the exclusion constraint'
);
insert into catalog.zones (operator_id, name)
select p.operator_id, 'Zone A' from catalog.tariffs t join catalog.products p on p.id = t.product_id where t.id = :tariff
returning id as zone \gset
select lives_ok(
  format($$insert into catalog.prices (tariff_id, zone_id, valid, monthly_fee)
           values (%s, %s, daterange('2023-01-01', null), 450)$$, :tariff, :zone),
  'a zone price may run beside the general price'
);

call tests.as_staff('{admin}');
select lives_ok(
  format($$select catalog.set_price(%s, '2024-01-01', 550)$$, :tariff),
  'set_price from a later date closes the running period'
);
select results_eq(
  format($$select lower(valid), upper(valid), monthly_fee from catalog.prices
            where tariff_id = %s and zone_id is null order by lower(valid)$$, :tariff),
  $$values ('2020-01-01'::date, '2024-01-01'::date, 500.00::numeric), ('2024-01-01'::date, null::date, 550.00::numeric)$$,
  'the old price ends the day before the new one starts'
);
select throws_ok(
  format($$select catalog.set_price(%s, '2019-06-01', 400)$$, :tariff),
  'MG008', format('tariff %s already has a price from 2019-06-01 on: prices may not overlap', :tariff),
  'a price starting before the running one is refused with MG008'
);
select throws_ok(
  format($$select catalog.set_price(%s, '2023-06-01', 400)$$, :tariff),
  'MG008', format('tariff %s already has a price from 2023-06-01 on: prices may not overlap', :tariff),
  'a price inside a closed period is refused with MG008'
);
select is(
  (select count(*)::integer from catalog.prices where tariff_id = :tariff and zone_id is null),
  2,
  'refused prices leave the price list as it was'
);

select * from finish();
rollback;
