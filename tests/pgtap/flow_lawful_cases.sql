-- A lawful case records reference, requesting body, legal basis and the officer; it is corrected
-- while open, closed with an outcome and reopened; every change is audited. Missing details and
-- impossible dates are refused beside their field.
begin;
select plan(13);

call tests.as_staff('{flow}');
select flow.open_case('KRPB-500/TČ-2025', 'Policie ČR, KŘP Jihomoravského kraje', '§ 88a trestního řádu',
                      '2025-03-03', '2025-03-10', 'urgent') as case_id \gset
select results_eq(
    format($$select reference, requesting_body, legal_basis, officer_id, received_on, deadline, state, note
               from flow.lawful_cases where id = %s$$, :case_id),
    $$values ('KRPB-500/TČ-2025'::text, 'Policie ČR, KŘP Jihomoravského kraje'::text, '§ 88a trestního řádu'::text,
              (select id from auth.users where username = 'test_flow'), '2025-03-03'::date, '2025-03-10'::date,
              'open'::text, 'urgent'::text)$$,
    'a case records its reference, requesting body, legal basis, the officer, dates and note'
);
select throws_ok(
    $$select flow.open_case('  ', 'Soud', '§ 97 ZEK')$$, 'MG720',
    'give the case reference (the requesting body''s file number)', 'a case needs a reference'
);
select throws_ok(
    $$select flow.open_case('X-1', '', '§ 97 ZEK')$$, 'MG720', null, 'a case needs the requesting body'
);
select throws_ok(
    $$select flow.open_case('X-1', 'Soud', null)$$, 'MG720', null, 'a case needs a legal basis'
);
select throws_ok(
    $$select flow.open_case('X-1', 'Soud', '§ 97 ZEK', '2025-03-03', '2025-03-02')$$, 'MG720',
    'the deadline cannot be before the day the request was received', 'the deadline is not before the receipt'
);
select lives_ok(
    format($$select flow.update_case(%s, 'KRPB-501/TČ-2025', 'Policie ČR', '§ 88a trestního řádu', '2025-03-03',
                                      '2025-03-12', null)$$, :case_id),
    'an open case is corrected'
);
select throws_ok(
    format($$select flow.close_case(%s, 'lost')$$, :case_id), 'MG720', null, 'a case closes with a known outcome'
);
select lives_ok(format($$select flow.close_case(%s, 'answered', 'handed over')$$, :case_id), 'a case is closed');
select results_eq(
    format($$select state, outcome, closed_at is not null, note from flow.lawful_cases where id = %s$$, :case_id),
    $$values ('closed'::text, 'answered'::text, true, 'handed over'::text)$$,
    'closed as answered, with the time and a note'
);
select throws_ok(
    format($$select flow.update_case(%s, 'X', 'Y', 'Z', null, null, null)$$, :case_id), 'MG721', null,
    'a closed case is not changed'
);
select lives_ok(format($$select flow.reopen_case(%s)$$, :case_id), 'a closed case is reopened');
select throws_ok(
    $$select flow.close_case(-1, 'answered')$$, 'MG721', 'case -1 does not exist', 'an unknown case is refused'
);
select results_eq(
    format($$select operation from tests.my_audit('flow.lawful_cases') where record_id = %L order by id$$, :case_id),
    $$values ('insert'::text), ('update'), ('update'), ('update')$$,
    'opening, the correction, closing and reopening are in the audit history'
);

select * from finish();
rollback;
