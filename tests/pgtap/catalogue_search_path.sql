-- Every function and procedure of our schemas pins exactly `search_path = pg_catalog, pg_temp`: the
-- temporary schema named last, so a caller's pg_temp.timestamptz or pg_temp.users cannot shadow
-- what a definer function means (an empty path still searches pg_temp first). Except the
-- small SQL helpers written to be inlined into the queries that call them (a SET clause stops
-- inlining): those say "[inlined]" in their comment and must be SQL, security invoker and not
-- volatile, so that inlined or not they cannot run with other rights than the caller's.
begin;
select plan(4);

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
       and not ('search_path=pg_catalog, pg_temp' = any(coalesce(p.proconfig, '{}')))
       and coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '') not like '%[inlined]%'
     order by 1
    $$,
    'every function of our schemas pins search_path = pg_catalog, pg_temp'
);

select is_empty(
    $$
    select p.oid::regprocedure::text
      from pg_catalog.pg_proc p
     where pg_catalog.obj_description(p.oid, 'pg_proc') like '%[inlined]%'
       and (p.prolang <> (select oid from pg_catalog.pg_language where lanname = 'sql')
            or p.prosecdef or p.provolatile = 'v' or p.proconfig is not null)
     order by 1
    $$,
    'the inlined helpers are SQL, security invoker, not volatile and set nothing'
);

select cmp_ok(
    (select count(*)::integer from pg_catalog.pg_proc p
      where pg_catalog.obj_description(p.oid, 'pg_proc') like '%[inlined]%'),
    '>=', 3,
    'the check sees the inlined helpers'
);

select * from finish();
rollback;
