-- Every state change of a service is audited and tells provisioning through exactly one coalesced
-- outbox row per service (topic provisioning, entity service:<id>) whose revision counts changes.
begin;
select plan(35);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as other \gset
select tests.make_tariff(400, :op) as tariff \gset
select tests.make_tariff(600, :op) as tariff2 \gset
delete from bus.events where topic = 'provisioning';

call tests.as_staff('{support}');
select crm.activate_service(:cust, :tariff, current_date - 60) as svc \gset
select is(tests.service_trace(:svc)::text, '(2,1,2)',
  'activation audits the service and its tariff period and enqueues one provisioning row');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.block_service(%s, 'manual', 'stolen router')$$, :svc), 'block runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'block writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'block leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'block increments its revision');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.unblock_service(%s)$$, :svc), 'unblock runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'unblock writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'unblock leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'unblock increments its revision');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.suspend_service(%s, current_date, null, 'holiday')$$, :svc), 'suspend runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'suspend writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'suspend leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'suspend increments its revision');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.resume_service(%s)$$, :svc), 'resume runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'resume writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'resume leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'resume increments its revision');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.change_tariff(%s, %s, current_date)$$, :svc, :tariff2), 'change_tariff runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'change_tariff writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'change_tariff leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'change_tariff increments its revision');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.move_service(%s, %s, current_date, 'sold the house')$$, :svc, :other), 'move runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'move writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'move leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'move increments its revision');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.end_service(%s, current_date, 'moved away')$$, :svc), 'end runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'end writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'end leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'end increments its revision');
select * from tests.service_trace(:svc) \gset t_

select lives_ok(format($$select crm.restore_service(%s)$$, :svc), 'restore runs');
select cmp_ok((tests.service_trace(:svc)).audit_rows, '>', :t_audit_rows, 'restore writes audit rows');
select is((tests.service_trace(:svc)).bus_rows, 1, 'restore leaves exactly one provisioning row for the service');
select cmp_ok((tests.service_trace(:svc)).revision, '>', :t_revision, 'restore increments its revision');
select * from tests.service_trace(:svc) \gset t_

call tests.as_superuser();
select is(
  (select array_agg(new_values ->> 'state' order by id) from tests.my_audit('crm.services')
    where record_id = :'svc' and operation = 'update'
      and new_values ->> 'state' is distinct from old_values ->> 'state'),
  array['blocked', 'active', 'suspended', 'active', 'ended', 'active'],
  'the audit shows each state the service went through, in order'
);
select is(
  (select (payload ->> 'service_id')::bigint from bus.events where entity = 'service:' || :svc),
  :svc::bigint,
  'the outbox row names the service; the agent reads its current state'
);

select * from finish();
rollback;
