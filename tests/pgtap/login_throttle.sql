-- Five wrong passwords in a row throttle the account; a successful login resets the count.
begin;
select plan(10);

select tests.make_user('{support}', 'test_throttle');
select tests.make_user('{support}', 'test_reset');
set local role mango_web;

select is(
    (select array_agg(l.status)
       from generate_series(1, 5) as g
       cross join lateral auth.login('test_throttle', 'wrong-password-' || g, '192.0.2.1', 'pgtap') as l),
    array['invalid', 'invalid', 'invalid', 'invalid', 'invalid'],
    'five wrong passwords are refused'
);
select results_eq(
    $$select status, token is null, retry_after is not null
        from auth.login('test_throttle', 'test-password-1', '192.0.2.1', 'pgtap')$$,
    $$values ('throttled'::text, true, true)$$,
    'then even the right password is throttled, with no token and a time to retry'
);
select is(
    (select status from auth.login('TEST_THROTTLE', 'test-password-1', '192.0.2.1', 'pgtap')),
    'throttled',
    'the user name is not case-sensitive for throttling'
);

-- Four failures, a success, four failures: the success reset the count.
select is(
    (select array_agg(l.status)
       from generate_series(1, 4) as g
       cross join lateral auth.login('test_reset', 'wrong-password-' || g, '192.0.2.1', 'pgtap') as l),
    array['invalid', 'invalid', 'invalid', 'invalid'],
    'four wrong passwords'
);
select is(
    (select status from auth.login('test_reset', 'test-password-1', '192.0.2.1', 'pgtap')), 'ok',
    'the right password still works'
);
select is(
    (select array_agg(l.status)
       from generate_series(1, 4) as g
       cross join lateral auth.login('test_reset', 'wrong-password-' || g, '192.0.2.1', 'pgtap') as l),
    array['invalid', 'invalid', 'invalid', 'invalid'],
    'four more wrong passwords'
);
select is(
    (select status from auth.login('test_reset', 'test-password-1', '192.0.2.1', 'pgtap')), 'ok',
    'eight failures in all but never five in a row: not throttled'
);
select is(
    (select array_agg(l.status)
       from generate_series(1, 5) as g
       cross join lateral auth.login('test_reset', 'wrong-password-' || g, '192.0.2.1', 'pgtap') as l),
    array['invalid', 'invalid', 'invalid', 'invalid', 'invalid'],
    'five wrong passwords after a success'
);
select is(
    (select status from auth.login('test_reset', 'test-password-1', '192.0.2.1', 'pgtap')), 'throttled',
    'five in a row after a success throttle again'
);

reset role;
select is(
    (select count(*)::integer from auth.login_attempts where username = 'test_throttle'),
    7,
    'every attempt is recorded, throttled ones too'
);

select * from finish();
rollback;
