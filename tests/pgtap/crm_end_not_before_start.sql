-- Ending a customer or a service cannot be dated before it began: `ended_on=1900-01-01` used to cut
-- every running service to its first day without a word. crm.end_customer and crm.end_service
-- refuse it with a message naming the date field; the table refuses it too.
begin;
select plan(10);

select tests.make_operator() as op \gset
select tests.make_customer(:op, 'Dvořák', 'Petr', '2024-03-01') as cust \gset
select tests.make_tariff(400, :op) as tariff \gset

call tests.as_staff('{support}');
select crm.activate_service(:cust, :tariff, '2024-04-01') as svc \gset

select throws_ok(
  format($$select crm.end_customer(%s, '1900-01-01', 'typo')$$, :cust),
  'MG001', 'the customer began on 2024-03-01: they cannot end before that',
  'a customer cannot end before they began'
);
select throws_ok(
  format($$select crm.end_customer(%s, '2024-03-15', 'moved')$$, :cust),
  'MG001', format('service %s begins on 2024-04-01: the customer cannot end before that', :svc),
  'a customer cannot end before one of their running services began'
);
select throws_ok(
  format($$select crm.end_customer(%s, null, 'moved')$$, :cust),
  'MG001', 'give the date the customer ends',
  'ending a customer needs a date'
);
select is(
  (select (state, upper_inf(valid))::text from crm.services where id = :svc), '(active,t)',
  'a refused end leaves the service running'
);
select throws_ok(
  format($$select crm.end_service(%s, '2024-03-31', 'typo')$$, :svc),
  'MG004', format('service %s began on 2024-04-01: it cannot end before that', :svc),
  'a service cannot end before it began'
);
select lives_ok(
  format($$select crm.end_service(%s, '2024-04-01', 'never used')$$, :svc),
  'a service may end on the day it began'
);
select is(
  (select upper(valid) from crm.services where id = :svc), '2024-04-02'::date,
  'ended on the day it began, it lasts that day'
);
select lives_ok(
  format($$select crm.end_customer(%s, '2024-06-01', 'moved away')$$, :cust),
  'a customer ends on a date after they and their services began'
);
select is(
  (select ended_on from crm.customers where id = :cust), '2024-06-01'::date,
  'the customer''s end date is kept'
);

-- Support may update the end date directly (restoring, correcting): the table refuses a date
-- before the customer began whatever writes it.
select throws_ok(
  format($$update crm.customers set ended_on = '2024-02-01' where id = %s$$, :cust),
  '23514', 'new row for relation "customers" violates check constraint "customers_ended_on_check"',
  'the table refuses an end before the customer began'
);

select * from finish();
rollback;
