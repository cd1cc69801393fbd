-- A login updates last_login_at: bookkeeping that the audit leaves out, so the history shows
-- what people changed, not every login.
begin;
select plan(3);

select tests.make_user('{support}', 'pgtap_login_user');
update auth.users set password_hash = public.crypt('right-password-1', public.gen_salt('bf', 4))
 where username = 'pgtap_login_user';
create temporary table before_login as
select count(*) as n from tests.my_audit('auth.users');

select is(
    (select status from auth.login('pgtap_login_user', 'right-password-1', null, null)),
    'ok', 'the login succeeds'
);
select isnt(
    (select last_login_at from auth.users where username = 'pgtap_login_user'), null, 'last_login_at is set'
);
select is(
    (select count(*) from tests.my_audit('auth.users')), (select n from before_login),
    'the login wrote no audit record'
);

select * from finish();
rollback;
