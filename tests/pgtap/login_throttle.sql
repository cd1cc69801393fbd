-- Login throttling: a growing delay per user after three wrong passwords in a row (from any
-- address; refused tries do not make it grow), a limit per client address over all user names, a
-- success resets the user's count, and an inactive account answers like a wrong password.
-- (Attempts in one transaction share now(): the test moves them back in time to let time pass.)
begin;
select plan(16);

select tests.make_user('{support}', 'test_throttle');
select tests.make_user('{support}', 'test_other');
select tests.make_user('{support}', 'test_inactive');
update auth.users set active = false where username = 'test_inactive';
set local role mango_web;

select is(
    (select array_agg(l.status)
       from generate_series(1, 3) as g
       cross join lateral auth.login('test_throttle', 'wrong-password-' || g, '192.0.2.1', 'pgtap') as l),
    array['invalid', 'invalid', 'invalid'],
    'three wrong passwords are refused as wrong'
);
select results_eq(
    $$select status, token is null, retry_after = now() + interval '2 seconds'
        from auth.login('test_throttle', 'test-password-1', '192.0.2.1', 'pgtap')$$,
    $$values ('throttled'::text, true, true)$$,
    'the fourth try waits two seconds, even with the right password'
);
select is(
    (select status from auth.login('TEST_THROTTLE', 'test-password-1', '198.51.100.9', 'pgtap')),
    'throttled',
    'from another address too, and the name is not case-sensitive'
);

-- Two seconds later (moved back): a fourth wrong password, then the wait doubles.
reset role;
update auth.login_attempts set attempted_at = attempted_at - interval '3 seconds' where username = 'test_throttle';
set local role mango_web;
select is(
    (select status from auth.login('test_throttle', 'wrong-password-4', '192.0.2.1', 'pgtap')), 'invalid',
    'after the wait the next try is checked'
);
select is(
    (select retry_after - now() from auth.login('test_throttle', 'test-password-1', '192.0.2.1', 'pgtap')),
    interval '4 seconds',
    'four wrong passwords in a row: the wait is four seconds'
);

-- The refused tries did not count: after four seconds the right password logs in.
reset role;
update auth.login_attempts set attempted_at = attempted_at - interval '5 seconds' where username = 'test_throttle';
set local role mango_web;
select is(
    (select status from auth.login('test_throttle', 'test-password-1', '192.0.2.1', 'pgtap')), 'ok',
    'refused tries do not grow the wait: after it, the right password works'
);
select is(
    (select status from auth.login('test_throttle', 'wrong-password-5', '192.0.2.1', 'pgtap')), 'invalid',
    'a success starts the count again'
);

-- The wait never grows past the maximum.
reset role;
insert into auth.login_attempts (username, ip, success, attempted_at)
select 'test_throttle', null, false, now() from generate_series(1, 30);
set local role mango_web;
select is(
    (select retry_after - now() from auth.login('test_throttle', 'test-password-1', '192.0.2.1', 'pgtap')),
    interval '120 seconds',
    'the wait is capped (120 seconds by default), so a user is never locked out for long'
);

-- One address trying many names: after 20 failures in the window it is refused for every name.
select is(
    (select count(*)::integer
       from generate_series(1, 19) as g
       cross join lateral auth.login('spray-' || g, 'guess', '203.0.113.5', 'pgtap') as l
      where l.status = 'invalid'),
    19,
    'nineteen guesses of different names from one address'
);
select is(
    (select status from auth.login('test_other', 'wrong', '203.0.113.5', 'pgtap')), 'invalid',
    'the twentieth is still checked'
);
select is(
    (select status from auth.login('test_other', 'test-password-1', '203.0.113.5', 'pgtap')), 'throttled',
    'then that address is refused, even for a right password of a name it never tried'
);
select is(
    (select status from auth.login('test_other', 'test-password-1', '192.0.2.77', 'pgtap')), 'ok',
    'while the same user logs in from another address'
);

-- An inactive account answers like a wrong password (no hint that the password was right).
select is(
    (select status from auth.login('test_inactive', 'test-password-1', '192.0.2.2', 'pgtap')), 'invalid',
    'an inactive user with the right password: the same answer as a wrong password'
);
select is(
    (select status from auth.login('nobody-at-all', 'whatever', '192.0.2.2', 'pgtap')), 'invalid',
    'an unknown user: the same answer'
);

reset role;
select is(
    (select count(*)::integer from auth.login_attempts where username = 'test_throttle' and throttled),
    4,
    'throttled tries are recorded, marked as such'
);
select is(
    (select count(*)::integer from auth.login_attempts where username = 'test_throttle'),
    40,
    'every attempt is recorded'
);

select * from finish();
rollback;
