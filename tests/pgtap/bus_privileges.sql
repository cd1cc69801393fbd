-- The outbox: only the database's own code writes it (no login-facing role can, not even through
-- bus.enqueue); only agents claim; enqueue coalesces.
begin;
select plan(16);

call tests.as_staff('{support}');
select throws_ok(
    $$insert into bus.events (topic, entity) values ('pgtap.topic', 'direct')$$,
    '42501', null, 'staff cannot insert into bus.events directly'
);
select throws_ok(
    $$update bus.events set revision = 0$$,
    '42501', null, 'staff cannot update bus.events directly'
);
select throws_ok(
    $$select * from bus.claim('pgtap', array['pgtap.topic'])$$,
    '42501', null, 'staff cannot claim events'
);
select throws_ok(
    $$select bus.ack(array[1::bigint], array[1])$$,
    '42501', null, 'staff cannot acknowledge events'
);
select throws_ok(
    $$select bus.enqueue('pgtap.topic', 'entity-1', '{"n": 1}')$$,
    '42501', null, 'staff cannot enqueue an event of their choosing'
);
call tests.as_staff('{admin}');
select throws_ok(
    $$select bus.enqueue('provisioning', 'service:1', '{}')$$,
    '42501', null, 'not even an administrator'
);
call tests.as_superuser();

-- No login-facing role (the web client and every role it can switch to, agents) may write events.
select is_empty(
    $$select r.rolname::text
        from pg_catalog.pg_roles r
       where (r.rolname in ('mango_web', 'mango_customer', 'mango_partner', 'mango_staff')
              or r.rolname like 'mango\_as\_%' or r.rolname like 'mango\_agent%')
         and (has_function_privilege(r.oid, 'bus.enqueue(text, text, jsonb)', 'execute')
              or has_table_privilege(r.oid, 'bus.events', 'insert')
              or has_table_privilege(r.oid, 'bus.events', 'update'))
       order by 1$$,
    'no login-facing role can execute bus.enqueue or write bus.events'
);

-- The database's own code (here: the console, as triggers and definer functions do) enqueues.
select lives_ok(
    $$select bus.enqueue('pgtap.topic', 'entity-1', '{"n": 1}')$$,
    'the database''s own code enqueues an event'
);
select lives_ok(
    $$select bus.enqueue('pgtap.topic', 'entity-1', '{"n": 2}')$$,
    'and the same entity again'
);
select results_eq(
    $$select revision, payload from bus.events where topic = 'pgtap.topic' and entity = 'entity-1'$$,
    $$values (2, '{"n": 2}'::jsonb)$$,
    'the second enqueue coalesces: one row, revision 2, the latest payload'
);

-- A change a user makes through a business function writes its event through the trigger.
select tests.make_customer() as customer_id \gset
select tests.make_tariff(300) as tariff_id \gset
call tests.as_staff('{support}');
select lives_ok(
    format('select crm.activate_service(%s, %s, current_date)', :customer_id, :tariff_id),
    'support activates a service (its trigger writes the outbox)'
);
call tests.as_superuser();
select ok(
    exists (select from bus.events e join crm.services s on e.entity = 'service:' || s.id
             where e.topic = 'provisioning' and s.customer_id = :customer_id),
    'the activation is on the bus for provisioning'
);

set local role mango_agent_provisioner;
select results_eq(
    $$select entity, revision, attempts from bus.claim('pgtap', array['pgtap.topic'])$$,
    $$values ('entity-1'::text, 2, 1)$$,
    'an agent claims the event'
);
select is_empty(
    $$select * from bus.claim('pgtap-2', array['pgtap.topic'])$$,
    'a claimed event is leased: another agent does not get it'
);
reset role;
select bus.enqueue('pgtap.topic', 'entity-1', '{"n": 3}');
select set_config('pgtap.event_id', (select id::text from bus.events where topic = 'pgtap.topic'), true);
set local role mango_agent_provisioner;
select is(
    bus.ack(array[current_setting('pgtap.event_id')::bigint], array[2]), 0,
    'an event changed while it was handled is not acknowledged'
);
select is(
    bus.ack(array[current_setting('pgtap.event_id')::bigint], array[3]), 1,
    'acknowledging the current revision removes it'
);

select * from finish();
rollback;
