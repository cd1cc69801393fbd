-- Grants are exactly what procedures/ says: before the files grant again, every privilege that
-- any role other than the owner holds on the objects of our schemas is revoked (in the same
-- transaction as the grants, so no one sees the gap). A grant removed from a file is therefore gone
-- after the next migrate, as a function or policy a file stops defining is.

create or replace function auth.app_schemas()
returns text[]
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  select array['auth', 'bus', 'audit', 'crm', 'catalog', 'billing', 'payment', 'doc', 'net', 'mon', 'prov', 'flow',
               'desk', 'process', 'report'];
$$;
comment on function auth.app_schemas() is 'The schemas of the application (what grants, syncs and tests cover).';
revoke all on function auth.app_schemas() from public;

create or replace function audit.reset_grants()
returns integer
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Run by the owner while procedures/ is applied. Objects of another owner (the role maker's
-- function) keep their grants: REVOKE on them would only warn. Returns how many were revoked.
declare
  v_grant record;
  v_count integer := 0;
begin
  for v_grant in
    select 'schema' as kind, null::regclass as rel, null::regprocedure as fn, n.nspname::text as nsp,
           a.grantee::regrole as grantee
      from pg_catalog.pg_namespace n, aclexplode(n.nspacl) a
     where n.nspname = any(auth.app_schemas()) and a.grantee <> n.nspowner and a.grantee <> 0
       and n.nspowner = current_user::regrole
    union
    select case when c.relkind = 'S' then 'sequence' else 'table' end, c.oid::regclass, null::regprocedure,
           null::text, g.grantee::regrole
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     cross join lateral (select a.grantee from aclexplode(c.relacl) a
                         union
                         select a.grantee from pg_catalog.pg_attribute t, aclexplode(t.attacl) a
                          where t.attrelid = c.oid) g
     where n.nspname = any(auth.app_schemas()) and g.grantee <> c.relowner and g.grantee <> 0
       and c.relowner = current_user::regrole
    union
    select 'routine', null::regclass, p.oid::regprocedure, null::text, a.grantee::regrole
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     cross join aclexplode(p.proacl) a
     where n.nspname = any(auth.app_schemas()) and a.grantee <> p.proowner and a.grantee <> 0
       and p.proowner = current_user::regrole
  loop
    case v_grant.kind
      when 'schema' then execute format('revoke all on schema %I from %I', v_grant.nsp, v_grant.grantee);
      when 'sequence' then execute format('revoke all on sequence %s from %I', v_grant.rel, v_grant.grantee);
      when 'table' then execute format('revoke all on table %s from %I', v_grant.rel, v_grant.grantee);
      else execute format('revoke all on routine %s from %I', v_grant.fn, v_grant.grantee);
    end case;
    v_count := v_count + 1;
  end loop;
  return v_count;
end;
$$;
comment on function audit.reset_grants() is
'Revoke every privilege on our objects from every role but the owner (procedures/ grants them again).';
revoke all on function audit.reset_grants() from public;

select audit.reset_grants();
