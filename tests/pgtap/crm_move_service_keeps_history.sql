-- Moving a service to another customer keeps the same service with its tariffs and history, and
-- records the move.
begin;
select plan(7);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as seller \gset
select tests.make_customer(:op, 'Kupec', 'Karel') as buyer \gset
select tests.make_tariff(400, :op) as tariff \gset

call tests.as_staff('{support}');
select crm.activate_service(:seller, :tariff, '2024-01-01') as svc \gset
select lives_ok(format($$select crm.move_service(%s, %s, '2024-06-01', 'house sold')$$, :svc, :buyer), 'the service moves');
select is((select customer_id from crm.services where id = :svc), :buyer::bigint, 'the same service now belongs to the buyer');
select is((select (from_customer_id, to_customer_id, moved_on, reason)::text from crm.service_moves where service_id = :svc),
  format('(%s,%s,2024-06-01,"house sold")', :seller, :buyer), 'the move is recorded with its date and reason');
select is((select (tariff_id, lower(valid))::text from crm.service_tariffs where service_id = :svc),
  format('(%s,2024-01-01)', :tariff), 'its tariff history is kept');
select is((select changes -> 'customer_id' from audit.history where table_name = 'services' and record_id = :'svc'
            and operation = 'update' and changes ? 'customer_id'),
  jsonb_build_object('old', :seller, 'new', :buyer), 'the audit shows the change of customer');
select throws_ok(format($$select crm.move_service(%s, %s, '2024-07-01', null)$$, :svc, :buyer),
  'MG006', 'the service already belongs to this customer', 'a service cannot move to its own customer');
select is((select count(*)::integer from crm.services where customer_id in (:seller, :buyer)), 1, 'no service was copied');

select * from finish();
rollback;
