-- Changes to staff users are audited with the role and the user; the password hash never is.
begin;
select plan(8);

-- The records of the user this file creates (the test admin may be created here too).
create temporary view my_user_audit as
select r.*
  from tests.my_audit('auth.users') as r
 where r.record_id = (select id::text from auth.users where username = 'pgtap_audited');
grant select on my_user_audit to public;

select tests.make_user('{admin}', 'test_admin');
call tests.as_staff('{admin}');
select auth.create_user('pgtap_audited', 'Audited User', 'a@example.com', 'en', '{support}', 'a-long-password-1');
select auth.update_user(
    (select id from auth.users where username = 'pgtap_audited'), 'Audited Renamed', null, 'cs', '{billing}', true
);
select auth.set_password((select id from auth.users where username = 'pgtap_audited'), 'a-long-password-2');
call tests.as_superuser();

select results_eq(
    $$select operation, db_role, user_id from my_user_audit order by id$$,
    $$select op, 'mango_as_admin'::text, (select id from auth.users where username = 'test_admin')
        from unnest(array['insert', 'update', 'update']) with ordinality as o(op, n) order by n$$,
    'insert, update and password change are audited with the admin''s role and user id'
);
select is(
    (select new_values ->> 'password_hash' from my_user_audit where operation = 'insert'),
    '***', 'the new password hash is masked'
);
select is(
    (select record_id from my_user_audit where operation = 'insert'),
    (select id::text from auth.users where username = 'pgtap_audited'),
    'the record id is the user''s id'
);
select is(
    (select new_values ->> 'username' from my_user_audit where operation = 'insert'),
    'pgtap_audited', 'the new values are recorded'
);
select is(
    (select changes -> 'full_name' from audit.history h
      where h.id = (select min(id) from my_user_audit where operation = 'update')),
    '{"old": "Audited User", "new": "Audited Renamed"}'::jsonb,
    'the history shows the old and new full name'
);
select is(
    (select changes -> 'password_hash' from audit.history h
      where h.id = (select max(id) from my_user_audit)),
    '{"old": "***", "new": "*** (changed)"}'::jsonb,
    'a password change is visible as a change, not as a value'
);
select ok(
    not exists (select from my_user_audit r
                 where r.old_values::text like '%$2%' or r.new_values::text like '%$2%'),
    'no bcrypt hash reaches the audit records'
);
select is(
    (select username from audit.history h where h.id = (select max(id) from my_user_audit)),
    'test_admin', 'the history names the user who made the change'
);

select * from finish();
rollback;
