-- No function or procedure of our schemas is executable by PUBLIC: execute is granted on purpose.
begin;
select plan(2);

select is_empty(
    $$
    select p.oid::regprocedure::text
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) as acl
     where n.nspname = any(array['auth', 'bus', 'audit', 'crm', 'catalog', 'billing', 'payment', 'doc', 'net',
                                 'mon', 'prov', 'flow', 'desk', 'process', 'report'])
       and acl.grantee = 0
       and acl.privilege_type = 'EXECUTE'
     order by 1
    $$,
    'no function of our schemas is executable by public'
);

-- The check itself works: a function with default privileges is seen as public.
create function crm.pgtap_probe() returns integer language sql immutable set search_path = pg_catalog, pg_temp as 'select 1';
select ok(
    has_function_privilege('public', 'crm.pgtap_probe()', 'execute'),
    'a function created without revoke is executable by public (the check would see it)'
);

select * from finish();
rollback;
