-- A rejected order says why: catalog.advance_order asks for the reason beside the note (the web
-- client used to be the only one to ask), and the table refuses a rejected order without one.
-- catalog.place_order says what an order lacks beside its field.
begin;
select plan(8);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_tariff(400, :op) as tariff \gset

call tests.as_staff('{sales}');
select catalog.place_order(:cust, 'activate', null, :tariff, p_stage => 'enquiry') as ord \gset

select throws_ok(
  format($$select catalog.advance_order(%s, 'rejected', null)$$, :ord),
  'MG009', 'say why the order is rejected',
  'a rejection without a reason is refused'
);
select throws_ok(
  format($$select catalog.advance_order(%s, 'rejected', '   ')$$, :ord),
  'MG009', 'say why the order is rejected',
  'a blank reason is no reason'
);
select is(
  (select stage from catalog.orders where id = :ord), 'enquiry',
  'the order stays where it was'
);
select is(
  catalog.advance_order(:ord, 'rejected', ' Too expensive '), 'rejected',
  'a rejection with its reason is taken'
);
select is(
  (select reject_reason from catalog.orders where id = :ord), 'Too expensive',
  'the reason is kept with the order'
);

select catalog.place_order(:cust, 'activate', null, :tariff, p_stage => 'enquiry') as ord2 \gset
select throws_ok(
  format($$update catalog.orders set stage = 'rejected' where id = %s$$, :ord2),
  '23514', 'new row for relation "orders" violates check constraint "orders_reject_reason_check"',
  'the table refuses a rejected order without a reason whatever writes it'
);

select throws_ok(
  format($$select catalog.place_order(%s, 'change_tariff', null, %s)$$, :cust, :tariff),
  'MG009', 'choose the service the order is about',
  'an order about a service names the missing service'
);
select throws_ok(
  format($$select catalog.place_order(%s, 'activate', null, null)$$, :cust),
  'MG009', 'choose a tariff or a bundle',
  'an activation names the missing tariff or bundle'
);

select * from finish();
rollback;
