-- Every business table (and auth.users) has the _800_audit trigger, unless its comment says
-- '[not audited: why]'.
begin;
select plan(3);

select is_empty(
    $$
    select c.oid::regclass::text
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where (n.nspname = any(array['crm', 'catalog', 'billing', 'payment', 'doc', 'net', 'prov', 'desk', 'process'])
            or c.oid = 'auth.users'::regclass)
       and c.relkind in ('r', 'p')
       and not c.relispartition
       and coalesce(obj_description(c.oid, 'pg_class'), '') not like '%[not audited%'
       and not exists (select from pg_catalog.pg_trigger t
                        where t.tgrelid = c.oid and t.tgname = '_800_audit'
                          and t.tgfoid = 'audit.tg__record()'::regprocedure and t.tgenabled <> 'D')
     order by 1
    $$,
    'every business table has the _800_audit trigger or says why not'
);

select has_trigger('auth', 'users', '_800_audit', 'auth.users is audited');

select is_empty(
    $$
    select t.tgrelid::regclass::text
      from pg_catalog.pg_trigger t
     where t.tgname = '_800_audit'
       and (t.tgtype & 1 = 0                       -- not a row trigger
            or t.tgtype & 28 <> 28                 -- not on insert, delete and update
            or t.tgtype & 2 = 2)                   -- before instead of after
     order by 1
    $$,
    'every audit trigger is an after insert or update or delete row trigger'
);

select * from finish();
rollback;
