-- Enquiry → offer → order → accepted: an accepted tariff change is carried out on its date by
-- catalog.apply_due_orders; a rejected order changes nothing.
begin;
select plan(14);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_tariff(400, :op) as slow \gset
select tests.make_tariff(600, :op) as fast \gset

call tests.as_staff('{sales}');
select crm.activate_service(:cust, :slow, '2024-01-01') as svc \gset
select catalog.place_order(:cust, 'change_tariff', :svc, :fast, p_effective_on => current_date + 10,
                           p_stage => 'enquiry', p_note => 'asks for more speed') as ord \gset
select is(catalog.advance_order(:ord, 'offer', 'offered 600'), 'offer', 'the enquiry becomes an offer');
select is(catalog.advance_order(:ord, 'order'), 'order', 'the offer becomes an order');
select is(catalog.advance_order(:ord, 'accepted'), 'accepted', 'an order for a future date is accepted and waits');
select is(crm.current_tariff(:svc, current_date + 10), :slow::bigint, 'nothing changes before the date comes');
call tests.as_superuser();

call tests.as_staff('{admin}');
-- (Other orders in the database may fall due too: the assertions look at this one.)
select catalog.apply_due_orders(current_date + 9) as applied \gset
select is((select stage from catalog.orders where id = :ord), 'accepted', 'the day before, the order still waits');
select cmp_ok(catalog.apply_due_orders(current_date + 10), '>=', 1, 'on its date the order is carried out');
select is(crm.current_tariff(:svc, current_date + 10), :fast::bigint, 'the service has the new tariff from the date');
select is(crm.current_tariff(:svc, current_date + 9), :slow::bigint, 'and the old tariff until the day before');
select is((select stage from catalog.orders where id = :ord), 'done', 'the order is done');
select is((select array_agg(stage order by id) from catalog.order_events where order_id = :ord),
  array['enquiry', 'offer', 'order', 'accepted', 'done'], 'every stage is recorded');
select catalog.apply_due_orders(current_date + 30) as applied \gset
select is((select count(*)::integer from catalog.order_events where order_id = :ord), 5,
  'a done order is not carried out twice');
call tests.as_superuser();

call tests.as_staff('{sales}');
select catalog.place_order(:cust, 'change_tariff', :svc, :slow, p_effective_on => current_date + 20) as rejected \gset
select is(catalog.advance_order(:rejected, 'rejected', 'too expensive'), 'rejected', 'an order can be rejected');
select throws_ok(format($$select catalog.advance_order(%s, 'accepted')$$, :rejected),
  'MG009', 'an order in stage rejected cannot move to accepted', 'a rejected order cannot be accepted afterwards');
call tests.as_superuser();
select catalog.apply_due_orders(current_date + 30) as applied \gset
select is(crm.current_tariff(:svc, current_date + 30), :fast::bigint, 'the rejected order changed nothing');

select * from finish();
rollback;
