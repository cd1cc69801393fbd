-- Only flow officers read flows and run lawful requests. Billing, support and administrators get a
-- permission error from the database, see no audit history of the cases, and a session as the
-- officers' group role without a logged-in officer sees no case. An administrator cannot give the
-- flow role (a second person does: tests/pgtap/auth_officers_second_person.sql); the console can.
begin;
select plan(18);

select * from tests.lawful_scenario(1) \gset

call tests.as_staff('{flow}');
select lives_ok(
    format($$select * from flow.lawful_subscribers(%L, 1500, tstzrange(%L, %L::timestamptz + interval '1 hour'))$$,
           :'pub', :'t0', :'t0'),
    'a flow officer asks who held an address'
);
select cmp_ok(
    (select count(*)::integer from flow.flows where src_addr = :'pub'::inet), '>', 0, 'a flow officer reads flows'
);
select lives_ok(
    $$select flow.open_case('KRPB-100/TČ-2025', 'Policie ČR, KŘP Jihomoravského kraje', '§ 88a trestního řádu')$$,
    'a flow officer opens a case'
);

call tests.as_superuser();
call tests.as_staff('{billing}');
select throws_ok(
    format($$select * from flow.lawful_subscribers(%L, 1500, tstzrange(%L, %L::timestamptz + interval '1 hour'))$$,
           :'pub', :'t0', :'t0'),
    '42501', null, 'billing cannot ask who held an address'
);
select throws_ok($$select count(*) from flow.flows$$, '42501', null, 'billing cannot read flows');

call tests.as_superuser();
call tests.as_staff('{support}');
select throws_ok(
    format($$select * from flow.lawful_flows(%L, null, tstzrange(%L, %L::timestamptz + interval '1 hour'), 10)$$,
           :'pub', :'t0', :'t0'),
    '42501', null, 'support cannot look up flows'
);
select throws_ok($$select count(*) from flow.nat_events$$, '42501', null, 'support cannot read NAT events');
select throws_ok(
    format($$select flow.run_customer_query(1, %s, tstzrange(%L, %L::timestamptz + interval '1 hour'))$$,
           :c1, :'t0', :'t0'),
    '42501', null, 'support cannot run a lawful query'
);

call tests.as_superuser();
call tests.as_staff('{admin}');
select throws_ok($$select count(*) from flow.lawful_cases$$, '42501', null, 'an administrator cannot read cases');
select throws_ok($$select count(*) from flow.flows$$, '42501', null, 'an administrator cannot read flows');
select throws_ok(
    $$select flow.open_case('X-1', 'Soud', '§ 97 ZEK')$$, '42501', null, 'an administrator cannot open a case'
);
select is_empty(
    $$select id from audit.history where table_schema = 'flow'$$,
    'an administrator sees no audit history of lawful cases'
);
select throws_ok(
    $$select auth.create_user('pgtap_officer', 'Officer', null, 'cs', '{flow}', 'a-long-password-1')$$,
    '42501', 'you may not give the flow role: an officer or a retention supervisor gives it',
    'an administrator cannot give a new user the flow role'
);

call tests.as_superuser();
select auth.create_user('pgtap_officer', 'Officer', null, 'cs', '{flow}', 'a-long-password-1');
select ok(
    has_function_privilege((select db_role from auth.users where username = 'pgtap_officer'),
                           'flow.open_case(text, text, text, date, date, text)', 'execute'),
    'the console can: that user''s database role holds the officers'' rights'
);
select ok(not pg_has_role('mango_admin', 'mango_flow', 'member'), 'the admin group is not an officer');

call tests.as_staff('{flow}');
select isnt_empty(
    $$select id from audit.history where table_schema = 'flow' and table_name = 'lawful_cases'$$,
    'officers see the audit history of their cases'
);

call tests.as_superuser();
set local role mango_flow;
select is_empty($$select id from flow.lawful_cases$$, 'the officers'' group role without a logged-in officer sees no case');
select throws_ok(
    $$select flow.open_case('X-2', 'Soud', '§ 97 ZEK')$$, '42501', null,
    'nor can it open one'
);

select * from finish();
rollback;
