-- No session, no rights. The web client's login (mango_web) can switch to the mango_as_* roles and
-- to nothing else: no bare group role (mango_admin, mango_flow, …), no owner. Switched to an
-- administrator's or an officer's role without a live session of such a user, SQL cannot create a
-- user, change one, purge sessions, change operators, settings or the retention period, or read a
-- flow or a case; with the session, the same statements work. (The file logs in as mango_web with
-- SET SESSION AUTHORIZATION, so the database sees the web client's own login, not the superuser.)
begin;
select plan(27);

select * from tests.lawful_scenario(7) \gset
select tests.make_user('{admin}', 'pgtap_admin') as admin_id \gset
select tests.make_user('{flow}', 'pgtap_officer') as officer_id \gset
select tests.make_user('{support}', 'pgtap_support') as support_id \gset
select tests.session_for(:admin_id) as admin_token \gset
select tests.session_for(:support_id) as support_token \gset
select tests.session_for(:officer_id) as officer_token \gset
insert into flow.lawful_cases (reference, requesting_body, legal_basis, officer_id, received_on)
values ('PGTAP-NS-2', 'Soud', '§ 97 ZEK', :officer_id, current_date);

select is_empty(
    $$select g.rolname::text from pg_catalog.pg_roles g
       where pg_has_role('mango_web', g.oid, 'member') and g.rolname <> 'mango_web'
         and g.rolname not like 'mango\_as\_%' and g.rolname not in ('mango_customer', 'mango_partner', 'mango_staff')
       order by 1$$,
    'mango_web is a member of no role but the mango_as_* roles, the marker and the self-care roles'
);
select is_empty(
    $$select r.rolname::text from pg_catalog.pg_roles r
       where r.rolname like 'mango\_as\_%' and pg_has_role('mango_web', r.oid, 'member')
         and exists (select from pg_catalog.pg_auth_members m where m.member = r.oid
                      and m.roleid <> 'mango_staff'::regrole)
       order by 1$$,
    'a mango_as_* role is a member of the marker only (its groups'' privileges are its own)'
);
select is_empty(
    $$select c.oid::regclass::text || ' ' || a.privilege_type
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       cross join aclexplode(c.relacl) a
       where n.nspname = any(auth.app_schemas()) and a.grantee = 'mango_staff'::regrole
      union all
      select p.oid::regprocedure::text from pg_catalog.pg_proc p cross join aclexplode(p.proacl) a
       where a.grantee = 'mango_staff'::regrole
      union all
      select n.nspname::text from pg_catalog.pg_namespace n cross join aclexplode(n.nspacl) a
       where a.grantee = 'mango_staff'::regrole$$,
    'the marker mango_staff holds no privilege at all'
);

set local session authorization mango_web;
select throws_ok($$set local role mango_admin$$, '42501', null, 'mango_web cannot switch to the bare mango_admin');
select throws_ok($$set local role mango_flow$$, '42501', null, 'nor to the bare mango_flow');
select throws_ok($$set local role mango_office$$, '42501', null, 'nor to mango_office');
select throws_ok($$set local role mango_owner$$, '42501', null, 'nor to the owner');
select throws_ok($$set local role mango_role_maker$$, '42501', null, 'nor to the role maker');

-- An administrator's role, no session.
set local role mango_as_admin;
select throws_ok(
    $$select auth.create_user('pgtap_intruder', 'Intruder', null, 'en', '{admin}', 'a-long-password-1')$$,
    '42501', null, 'no session: an administrator''s role cannot create a user'
);
select throws_ok(
    format('select auth.set_password(%s, %L)', :support_id, 'a-long-password-2'),
    '42501', null, 'nor set a password'
);
select throws_ok(
    format('select auth.update_user(%s, %L, null, %L, %L, true)', :support_id, 'X', 'en', '{admin}'),
    '42501', null, 'nor change a user''s roles'
);
select throws_ok(
    $$select auth.purge_sessions(interval '90 days')$$, '42501', null, 'nor purge sessions'
);
select is_empty(
    format('update crm.operators set name = %L where id = %s returning id', 'Hijacked', :op),
    'nor change an operator (no row is its to change)'
);
select throws_ok(
    $$select flow.set_retention(interval '7 months')$$, '42501', null, 'nor the retention period'
);
select throws_ok(
    $$select auth.role_for('{admin}')$$, '42501', null, 'nor make roles'
);
select is_empty($$select id from auth.users$$, 'nor read the users');

-- A support role, no session: no write to any business table.
set local role mango_as_support;
select throws_ok(
    format($$insert into crm.customers (operator_id, kind, first_name, last_name) values (%s, 'person', 'X', 'Y')$$,
           :op),
    '42501', null, 'no session: a support role inserts no customer'
);
select is_empty(
    format('update crm.customers set note = %L where id = %s returning id', 'hijacked', :c1),
    'nor changes one'
);

-- An officer's role, no session: no flow, no case.
set local role mango_as_flow;
select is_empty($$select * from flow.flows$$, 'no session: an officer''s role reads no flow');
select is_empty($$select * from flow.lawful_cases$$, 'nor a case');
select throws_ok(
    $$select flow.open_case('PGTAP-NS-3', 'Soud', '§ 97 ZEK')$$, '42501', null, 'nor opens one'
);

-- Another user's session under the administrator's role is no session either.
set local role mango_as_admin;
select set_config('mango.session', :'support_token', true);
select throws_ok(
    $$select auth.create_user('pgtap_intruder', 'Intruder', null, 'en', '{admin}', 'a-long-password-1')$$,
    '42501', null, 'a support user''s token under the administrator''s role: refused'
);

-- With the sessions, the same statements work.
select set_config('mango.session', :'admin_token', true);
select lives_ok(
    $$select auth.create_user('pgtap_new', 'New', null, 'en', '{support}', 'a-long-password-1')$$,
    'an administrator''s session creates a user'
);
select lives_ok(
    $$select auth.purge_sessions(interval '90 days')$$, 'and purges old sessions'
);
set local role mango_as_flow;
select set_config('mango.session', :'officer_token', true);
select isnt_empty($$select * from flow.flows$$, 'an officer''s session reads flows');
select isnt_empty($$select * from flow.lawful_cases$$, 'and cases');
set local role mango_as_support;
select set_config('mango.session', :'support_token', true);
select isnt_empty(
    format('update crm.customers set note = %L where id = %s returning id', 'called back', :c1),
    'a support user''s session changes a customer'
);

reset role;
reset session authorization;
select * from finish();
rollback;
