-- A service lives within its customer's life: it cannot start before the customer exists, nor run
-- after the customer ended (MG006).
begin;
select plan(6);

select tests.make_operator() as op \gset
select tests.make_customer(:op, 'Dvořák', 'Petr', '2024-03-01') as cust \gset
select tests.make_tariff(400, :op) as tariff \gset

call tests.as_staff('{support}');
select throws_ok(
  format($$select crm.activate_service(%s, %s, '2024-02-01')$$, :cust, :tariff),
  'MG006', 'a service cannot start (2024-02-01) before its customer exists (2024-03-01)',
  'a service cannot start before its customer exists'
);
select lives_ok(
  format($$select crm.activate_service(%s, %s, '2024-03-01')$$, :cust, :tariff),
  'a service may start on the day the customer was created'
);
select crm.activate_service(:cust, :tariff, '2024-04-01') as svc \gset
select throws_ok(
  format($$update crm.services set valid = daterange('2024-01-15', null) where id = %s$$, :svc),
  'MG006', 'a service cannot start (2024-01-15) before its customer exists (2024-03-01)',
  'moving the start before the customer existed is refused'
);

-- The customer ends: their services end with them; bringing one back alone is refused.
select crm.end_customer(:cust, '2024-06-01', 'moved away');
select is(
  (select count(*)::integer from crm.services where customer_id = :cust and state = 'ended' and upper(valid) = '2024-06-01'),
  2, 'ending a customer ends their services on the same date'
);
select throws_ok(
  format($$update crm.services set valid = daterange(lower(valid), null), state = 'active' where id = %s$$, :svc),
  'MG006', (select format('customer %s has ended: restore the customer first', customer_no) from crm.customers where id = :cust),
  'an ended customer''s service cannot run again'
);
select throws_ok(
  format($$select crm.activate_service(%s, %s, '2024-05-01')$$, :cust, :tariff),
  'MG006', (select format('customer %s has ended: restore the customer first', customer_no) from crm.customers where id = :cust),
  'no new service for an ended customer'
);

select * from finish();
rollback;
