-- A block set by a person is never lifted (or overridden) by the automation.
begin;
select plan(7);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_tariff(400, :op) as tariff \gset

call tests.as_staff('{support}');
select crm.activate_service(:cust, :tariff, '2024-01-01') as svc \gset
select lives_ok(format($$select crm.block_service(%s, 'manual', 'fraud suspected')$$, :svc), 'a person blocks the service');
select throws_ok(format($$select crm.unblock_service(%s, 'system')$$, :svc),
  'MG006', format('service %s was blocked by a person; only a person can unblock it', :svc),
  'the automation cannot lift a manual block');
select throws_ok(format($$select crm.block_service(%s, 'system', 'unpaid invoice')$$, :svc),
  'MG004', format('service %s is not running (or is blocked by a person) and cannot be blocked', :svc),
  'the automation cannot turn a manual block into its own');
select is((select (state, block_kind, block_reason)::text from crm.services where id = :svc),
  '(blocked,manual,"fraud suspected")', 'the manual block stays as the person set it');
select lives_ok(format($$select crm.unblock_service(%s, 'manual')$$, :svc), 'a person lifts it');

-- A block the automation set, it may lift.
select crm.block_service(:svc, 'system', 'unpaid invoice');
select lives_ok(format($$select crm.unblock_service(%s, 'system')$$, :svc), 'the automation lifts its own block');
select is((select state from crm.services where id = :svc), 'active', 'the service runs again');

select * from finish();
rollback;
