-- The outbox: staff enqueue through bus.enqueue only; only agents claim; enqueue coalesces.
begin;
select plan(11);

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
select lives_ok(
    $$select bus.enqueue('pgtap.topic', 'entity-1', '{"n": 1}')$$,
    'staff enqueue an event'
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

call tests.as_superuser();
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
select bus.enqueue('pgtap.topic', 'entity-1', '{"n": 3}');
reset role;
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
