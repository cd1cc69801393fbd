-- At most one financial job runs at a time: claim_job waits, and the index refuses a second one.
begin;
select plan(8);

-- Start from a clean slate inside this transaction (other tests may have left jobs behind).
update bus.jobs set state = 'failed', finished_at = now() where state in ('queued', 'running');
insert into bus.job_kinds (kind, title, financial, submitted_by) values
('pgtap.financial', 'A financial test job', true, '{billing}'),
('pgtap.plain', 'A plain test job', false, '{billing}');

call tests.as_staff('{billing}');
select lives_ok(
    $$select bus.submit_job('pgtap.financial', 'First run')$$, 'staff submit a financial job'
);
select bus.submit_job('pgtap.financial', 'Second run');
select bus.submit_job('pgtap.plain', 'A plain job');
select throws_ok(
    $$select * from bus.claim_job('staff', array['pgtap.financial'])$$,
    '42501', null, 'staff cannot claim jobs'
);

call tests.as_superuser();
set local role mango_agent_scheduler;
select results_eq(
    $$select title, state from bus.claim_job('worker-1', array['pgtap.financial'])$$,
    $$values ('First run'::text, 'running'::text)$$,
    'a worker claims the first financial job'
);
select is_empty(
    $$select * from bus.claim_job('worker-2', array['pgtap.financial'])$$,
    'a second financial job is not started while one runs'
);
select results_eq(
    $$select title from bus.claim_job('worker-2', array['pgtap.financial', 'pgtap.plain'])$$,
    $$values ('A plain job'::text)$$,
    'a plain job runs meanwhile'
);

reset role;
select throws_ok(
    $$update bus.jobs set state = 'running' where title = 'Second run' and kind = 'pgtap.financial'$$,
    '23505', null, 'the database refuses two running financial jobs'
);

set local role mango_agent_scheduler;
select bus.finish_job((select id from bus.jobs where title = 'First run' and state = 'running'), '{"ok": true}');
select results_eq(
    $$select title from bus.claim_job('worker-2', array['pgtap.financial'])$$,
    $$values ('Second run'::text)$$,
    'when the first finishes, the second starts'
);
select is(
    (select state from bus.jobs where title = 'First run' and kind = 'pgtap.financial'), 'done',
    'the first job is done'
);

select * from finish();
rollback;
