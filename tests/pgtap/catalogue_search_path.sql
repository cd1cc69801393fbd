-- Every function and procedure of our schemas pins search_path (set search_path = '').
begin;
select plan(2);

select cmp_ok(
    (select count(*)::integer
       from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any(array['auth', 'bus', 'audit', 'crm', 'catalog', 'billing', 'payment', 'doc', 'net',
                                  'mon', 'prov', 'flow', 'desk', 'process', 'report'])),
    '>=', 30,
    'the check sees the functions of our schemas'
);

select is_empty(
    $$
    select p.oid::regprocedure::text
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any(array['auth', 'bus', 'audit', 'crm', 'catalog', 'billing', 'payment', 'doc', 'net',
                                 'mon', 'prov', 'flow', 'desk', 'process', 'report'])
       and p.prokind in ('f', 'p')
       and not exists (select from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
       and not exists (select from unnest(p.proconfig) as cfg where cfg like 'search_path=%')
     order by 1
    $$,
    'every function of our schemas pins search_path'
);

select * from finish();
rollback;
