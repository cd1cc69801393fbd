-- Only administrators administer users; nobody writes auth.users or reads hashes directly.
begin;
select plan(13);

select tests.make_user('{support}', 'test_target');

call tests.as_staff('{support}');
select throws_ok(
    $$select auth.create_user('pgtap_new', 'New User', null, 'en', '{support}', 'a-long-password-1')$$,
    '42501', null, 'support cannot create a user'
);
select throws_ok(
    format($$select auth.update_user(%s, 'Renamed', null, 'en', '{support,billing}', true)$$,
           (select id from auth.users where username = 'test_target')),
    '42501', null, 'support cannot change a user'
);
select throws_ok(
    format($$select auth.set_password(%s, 'a-long-password-2')$$,
           (select id from auth.users where username = 'test_target')),
    '42501', null, 'support cannot set a password'
);
select throws_ok(
    $$update auth.users set roles = '{admin}' where username = 'test_support'$$,
    '42501', null, 'support cannot update auth.users directly'
);
select throws_ok(
    $$insert into auth.users (username, full_name, roles, db_role, password_hash)
      values ('pgtap_sneak', 'Sneak', '{admin}', 'mango_as_admin', 'x')$$,
    '42501', null, 'support cannot insert into auth.users directly'
);
select throws_ok(
    $$select password_hash from auth.users$$,
    '42501', null, 'support cannot read password hashes'
);

call tests.as_superuser();
call tests.as_staff('{admin}');
select lives_ok(
    $$select auth.create_user('pgtap_new', 'New User', null, 'en', '{support}', 'a-long-password-1')$$,
    'admin creates a user'
);
select is(
    (select roles from auth.users where username = 'pgtap_new'), '{support}'::text[], 'the new user has its roles'
);
select lives_ok(
    format($$select auth.update_user(%s, 'Renamed', null, 'en', '{support,billing}', true)$$,
           (select id from auth.users where username = 'test_target')),
    'admin changes a user'
);
select is(
    (select roles from auth.users where username = 'test_target'), '{billing,support}'::text[],
    'the roles are stored sorted'
);
select lives_ok(
    format($$select auth.set_password(%s, 'a-long-password-2')$$,
           (select id from auth.users where username = 'test_target')),
    'admin sets a password'
);
select throws_ok(
    $$select password_hash from auth.users$$,
    '42501', null, 'admin cannot read password hashes either'
);
select throws_ok(
    $$update auth.users set full_name = 'Direct' where username = 'test_target'$$,
    '42501', null, 'admin cannot update auth.users directly either'
);

select * from finish();
rollback;
