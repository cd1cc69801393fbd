-- auth.user_id(): the user of a live session whose role is the caller's role, else null.
begin;
select plan(8);

select is(auth.user_id(), null, 'no session: no user');

select tests.make_user('{billing}', 'test_billing');
call tests.as_staff('{support}');
select is(current_user::text, 'mango_as_support', 'as_staff switches to the role of the user''s roles');
select is(
    auth.user_id(),
    (select id from auth.users where username = 'test_support'),
    'with a session and the user''s role: that user'
);

set local role mango_as_billing;
select is(auth.user_id(), null, 'the same token under another staff role: no user');

set local role mango_as_support;
select isnt(auth.user_id(), null, 'back in the user''s role: the user again');

-- Logout ends the session.
call tests.as_superuser();
select auth.logout(current_setting('mango.session', true)) from tests.login_staff('{support}');
set local role mango_as_support;
select is(auth.user_id(), null, 'after logout: no user');

-- An expired session is no session.
call tests.as_superuser();
select tests.login_staff('{support}');
update auth.sessions set expires_at = now() - interval '1 second'
 where token_hash = auth.token_hash(current_setting('mango.session'));
set local role mango_as_support;
select is(auth.user_id(), null, 'after expiry: no user');

-- A deactivated user has no identity even with a live session.
call tests.as_superuser();
select tests.login_staff('{support}');
update auth.users set active = false where username = 'test_support';
set local role mango_as_support;
select is(auth.user_id(), null, 'an inactive user: no user');

select * from finish();
rollback;
