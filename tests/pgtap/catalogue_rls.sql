-- Every table of our schemas has row level security enabled (partitions: through their parent).
begin;
select plan(2);

select cmp_ok(
    (select count(*)::integer
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any(array['auth', 'bus', 'audit', 'crm', 'catalog', 'billing', 'payment', 'doc', 'net',
                                  'mon', 'prov', 'flow', 'desk', 'process'])
        and c.relkind in ('r', 'p')),
    '>=', 12,
    'the check sees the tables of our schemas'
);

select is_empty(
    $$
    select c.oid::regclass::text
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(array['auth', 'bus', 'audit', 'crm', 'catalog', 'billing', 'payment', 'doc', 'net',
                                 'mon', 'prov', 'flow', 'desk', 'process'])
       and c.relkind in ('r', 'p')
       and not c.relispartition
       and not c.relrowsecurity
     order by 1
    $$,
    'every table of our schemas has row level security enabled'
);

select * from finish();
rollback;
