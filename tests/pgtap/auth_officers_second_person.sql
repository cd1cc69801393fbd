-- The officer role (flow) needs a second person: an administrator can neither give nor take it, nor
-- take over an officer's account (password, active flag); an officer or a retention supervisor
-- gives or takes it for someone else, never for themselves, and the audit history records who.
begin;
select plan(17);

select tests.make_user('{admin}', 'pgtap_admin') as admin_id \gset
select tests.make_user('{flow}', 'pgtap_officer') as officer_id \gset
select tests.make_user('{supervisor}', 'pgtap_supervisor') as supervisor_id \gset
select tests.make_user('{support}', 'pgtap_clerk') as clerk_id \gset

call tests.as_staff('{admin}');
select throws_ok(
    $$select auth.create_user('pgtap_new_officer', 'New', null, 'en', '{flow}', 'a-long-password-1')$$,
    '42501', 'you may not give the flow role: an officer or a retention supervisor gives it',
    'an administrator cannot create an officer'
);
select throws_ok(
    format('select auth.update_user(%s, %L, null, %L, %L, true)', :clerk_id, 'Clerk', 'en', '{support,flow}'),
    '42501', null, 'nor make a user an officer'
);
select throws_ok(
    format('select auth.update_user(%s, %L, null, %L, %L, true)', (select auth.user_id()), 'Admin', 'en', '{admin,flow}'),
    '42501', 'you may not give the flow role to yourself: it needs a second person',
    'nor themselves'
);
select throws_ok(
    format('select auth.set_user_role(%s, %L, true)', :clerk_id, 'flow'), '42501', null,
    'nor through set_user_role'
);
select throws_ok(
    format('select auth.set_user_role(%s, %L, true)', :clerk_id, 'supervisor'), '42501', null,
    'nor make anyone a retention supervisor'
);
select throws_ok(
    format('select auth.set_password(%s, %L)', :officer_id, 'a-long-password-9'), '42501', null,
    'nor set an officer''s password (and log in as them)'
);
select throws_ok(
    format('select auth.update_user(%s, %L, null, %L, %L, false)', :officer_id, 'Officer', 'en', '{}'),
    '42501', null, 'nor deactivate an officer'
);
select lives_ok(
    format('select auth.update_user(%s, %L, null, %L, %L, true)', :officer_id, 'Officer Renamed', 'en', '{report}'),
    'an administrator edits an officer''s other details and roles'
);
call tests.as_superuser();
select is(
    (select roles from auth.users where id = :officer_id), array['flow', 'report'],
    'the officer role stays: it is not the administrator''s to take'
);

-- An officer gives the role to the clerk; the audit history names the officer.
call tests.as_staff('{flow}');
select lives_ok(
    format('select auth.set_user_role(%s, %L, true)', :clerk_id, 'flow'),
    'an officer makes another user an officer'
);
select throws_ok(
    format('select auth.set_user_role(%s, %L, false)', (select auth.user_id()), 'flow'), '42501',
    'you may not give or take the flow role of yourself: it needs a second person',
    'but cannot take their own officer role (nor give it to themselves)'
);
call tests.as_superuser();
select ok(
    (select roles from auth.users where id = :clerk_id) @> array['flow'],
    'the clerk is an officer now'
);
select is(
    (select r.user_id from tests.my_audit('auth.users') r
      where r.record_id = :'clerk_id' and r.operation = 'update'
        and r.new_values -> 'roles' ? 'flow' order by r.id desc limit 1),
    (select id from auth.users where username = 'test_flow'),
    'the audit history records which officer gave the role'
);
select ok(
    has_function_privilege((select db_role from auth.users where id = :clerk_id),
                           'flow.open_case(text, text, text, date, date, text)', 'execute'),
    'and the clerk''s database role holds the officers'' rights'
);

-- A retention supervisor takes it again, and may set an officer's password.
call tests.as_staff('{supervisor}');
select lives_ok(
    format('select auth.set_user_role(%s, %L, false)', :clerk_id, 'flow'),
    'a retention supervisor takes the officer role'
);
select lives_ok(
    format('select auth.set_password(%s, %L)', :officer_id, 'a-long-password-8'),
    'and may set an officer''s password'
);
call tests.as_superuser();
select ok(
    not ((select roles from auth.users where id = :clerk_id) @> array['flow']),
    'the clerk is no longer an officer'
);

select * from finish();
rollback;
