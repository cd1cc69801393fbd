-- Job kinds are data: who may submit a kind, whether its jobs are financial and which parameters
-- they take is decided by bus.job_kinds, checked by bus.submit_job for every caller.
begin;
select plan(22);

insert into bus.job_kinds (kind, title, financial, submitted_by) values
('pgtap.support_report', 'A report support may run', false, '{support}');
insert into bus.job_kind_params (kind_id, name, type, choices)
select id, 'format', 'text', '{csv,pdf}' from bus.job_kinds where kind = 'pgtap.support_report';

-- Support: not the daily financial kinds, and never a financial job.
call tests.as_staff('{support}');
select throws_ok(
    $$select bus.submit_job('crm.apply_due_service_dates', null, '{"today": "2999-01-01"}')$$,
    '42501', 'jobs of kind crm.apply_due_service_dates need a signed-in user with one of the roles admin, billing',
    'support cannot submit a kind it is not allowed (with today far in the future)'
);
select throws_ok(
    $$select bus.submit_job('bus.purge')$$, '42501', null, 'support cannot submit a housekeeping job'
);
select throws_ok(
    $$select bus.submit_job('pgtap.support_report', 'Report', '{}', true)$$,
    '42883', null, 'there is no financial flag to set: the kind decides'
);
select lives_ok(
    $$select bus.submit_job('pgtap.support_report', null, '{"format": "csv"}')$$, 'support submits a kind it may'
);
select results_eq(
    $$select title, financial, params from bus.jobs where kind = 'pgtap.support_report'$$,
    $$values ('A report support may run'::text, false, '{"format": "csv"}'::jsonb)$$,
    'the job has the kind''s title and is not financial'
);
select results_eq(
    $$select kind from bus.my_job_kinds()$$, $$values ('pgtap.support_report'::text)$$,
    'support is offered only the kinds it may submit'
);

-- Billing and administrators: the daily financial kinds, financial because the kind is.
call tests.as_staff('{billing}');
select lives_ok(
    $$select bus.submit_job('crm.apply_due_service_dates', null,
                            jsonb_build_object('today', crm.earliest_business_date()))$$,
    'billing submits the service dates job for today'
);
call tests.as_staff('{admin}');
select lives_ok(
    $$select bus.submit_job('catalog.apply_due_orders')$$, 'an administrator submits the orders job'
);
select results_eq(
    $$select kind, financial from bus.jobs where kind in ('crm.apply_due_service_dates', 'catalog.apply_due_orders')
        and created_at = now() order by kind$$,
    $$values ('catalog.apply_due_orders'::text, true), ('crm.apply_due_service_dates', true)$$,
    'the daily jobs are financial'
);

-- Bad parameters are refused with a message that names them.
select throws_ok(
    format($$select bus.submit_job('crm.apply_due_service_dates', null, '{"today": "%s"}')$$,
           crm.earliest_business_date() + 1),
    'MG022', format('parameter today must not be later than today (%s), not %s',
                    crm.earliest_business_date(), crm.earliest_business_date() + 1),
    'today may not be in the future'
);
select throws_ok(
    $$select bus.submit_job('crm.apply_due_service_dates', null, '{"today": 20261201}')$$,
    'MG022', 'parameter today must be a date (YYYY-MM-DD), not 20261201', 'a date parameter must be a date'
);
select throws_ok(
    $$select bus.submit_job('crm.apply_due_service_dates', null, '{"today": "2026-02-30"}')$$,
    'MG022', 'parameter today must be a date (YYYY-MM-DD), not "2026-02-30"', 'and a real one'
);
select throws_ok(
    $$select bus.submit_job('crm.apply_due_service_dates', null, '{"tomorrow": "2026-01-01"}')$$,
    'MG022', 'job kind crm.apply_due_service_dates has no parameter tomorrow', 'an unknown parameter is named'
);
select throws_ok(
    $$select bus.submit_job('bus.purge', null, '{"dead_days": "30"}')$$,
    'MG022', 'parameter dead_days must be a number, not "30"', 'a number must be a number'
);
select throws_ok(
    $$select bus.submit_job('bus.purge', null, '{"dead_days": 0}')$$,
    'MG022', 'parameter dead_days must be between 1 and 3650, not 0', 'a number within its bounds'
);
select throws_ok(
    $$select bus.submit_job('pgtap.support_report', null, '{"format": "xls"}')$$,
    'MG022', 'parameter format must be one of csv, pdf, not xls', 'a text among its choices'
);
select throws_ok(
    $$select bus.submit_job('pgtap.no_such_kind')$$,
    'MG022', 'unknown job kind ''pgtap.no_such_kind''', 'an unknown kind is named, the known ones are not listed'
);

-- A role switched to without a session is nobody; the scheduler submits only its own kinds.
select set_config('mango.session', '', true);
select throws_ok(
    $$select bus.submit_job('bus.purge')$$, '42501', null, 'the admin role without a session submits nothing'
);
call tests.as_superuser();
set local role mango_agent_scheduler;
select lives_ok($$select bus.submit_job('bus.purge')$$, 'the scheduler submits its periodic kinds');
select throws_ok(
    $$select bus.submit_job('pgtap.support_report')$$, '42501', null, 'but not the kinds people submit'
);

-- The kinds themselves are checked.
reset role;
select throws_ok(
    $$insert into bus.job_kinds (kind, title, submitted_by) values ('pgtap.bad', 'Bad', '{janitor}')$$,
    'MG010', 'unknown staff role: janitor', 'a kind is submitted by known staff roles'
);
select throws_ok(
    $$insert into bus.job_kind_params (kind_id, name, type, minimum)
      select id, 'n', 'number', 'NaN' from bus.job_kinds where kind = 'pgtap.support_report'$$,
    '23514', null, 'a bound is a finite number'
);

select * from finish();
rollback;
