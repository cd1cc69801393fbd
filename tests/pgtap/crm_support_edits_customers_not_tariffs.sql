-- The support role (call centre) may edit customers but not the catalogue; an administrator may.
begin;
select plan(8);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_tariff(300, :op) as tariff \gset
select product_id as product from catalog.tariffs where id = :tariff \gset

call tests.as_staff('{support}');
select lives_ok(format($$update crm.customers set street = 'Korunní', house_no = '5' where id = %s$$, :cust),
  'support may edit a customer');
select is((select street from crm.customers where id = :cust), 'Korunní', 'the edit is stored');
select throws_ok(format($$insert into catalog.tariffs (product_id, code, name) values (%s, 'x', 'X')$$, :product),
  '42501', null, 'support may not create a tariff');
select throws_ok(format($$update catalog.tariffs set name = 'Cheap' where id = %s$$, :tariff),
  '42501', null, 'support may not rename a tariff');
select throws_ok(format($$select catalog.set_price(%s, '2030-01-01', 1)$$, :tariff),
  '42501', null, 'support may not change a price');
call tests.as_superuser();

call tests.as_staff('{admin}');
select lives_ok(format($$update catalog.tariffs set name = 'Fast' where id = %s$$, :tariff),
  'an administrator may rename a tariff');
select lives_ok(format($$select catalog.set_price(%s, '2030-01-01', 350)$$, :tariff),
  'an administrator may change a price');
select lives_ok(format($$update crm.customers set note = 'VIP' where id = %s$$, :cust),
  'an administrator may edit a customer too');

select * from finish();
rollback;
