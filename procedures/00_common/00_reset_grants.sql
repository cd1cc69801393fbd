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

create or replace function audit.app_privileges()
returns table (
    kind text, nsp text, rel regclass, col text, fn regprocedure, grantee oid, privilege text
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- Every privilege granted on the objects of our schemas that the current role owns: kind
  -- 'schema', 'table' (tables and views), 'sequence', 'column' or 'routine', with the object, the
  -- grantee and the privilege. audit.reset_grants and auth.sync_staff_role read it.
  select 'schema', n.nspname::text, null::regclass, null::text, null::regprocedure, a.grantee, a.privilege_type
    from pg_catalog.pg_namespace n, aclexplode(n.nspacl) a
   where n.nspname = any(auth.app_schemas()) and n.nspowner = current_user::regrole
  union all
  select case when c.relkind = 'S' then 'sequence' else 'table' end, null, c.oid::regclass, null, null,
         a.grantee, a.privilege_type
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   cross join aclexplode(c.relacl) a
   where n.nspname = any(auth.app_schemas()) and c.relowner = current_user::regrole
  union all
  select 'column', null, c.oid::regclass, t.attname::text, null, a.grantee, a.privilege_type
    from pg_catalog.pg_attribute t
    join pg_catalog.pg_class c on c.oid = t.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   cross join aclexplode(t.attacl) a
   where n.nspname = any(auth.app_schemas()) and c.relowner = current_user::regrole
     and t.attnum > 0 and not t.attisdropped
  union all
  select 'routine', null, null, null, p.oid::regprocedure, a.grantee, a.privilege_type
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   cross join aclexplode(p.proacl) a
   where n.nspname = any(auth.app_schemas()) and p.proowner = current_user::regrole;
$$;
comment on function audit.app_privileges() is
'Every privilege granted on the objects of our schemas the current role owns (for resets and syncs).';
revoke all on function audit.app_privileges() from public;

create or replace function audit.revoke_all_from(p_grantee oid default null)
returns integer
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Revoke what a role (null: every role but the owner and public) holds on the objects of our
-- schemas the current role owns; objects of another owner keep their grants (REVOKE would only
-- warn). Revoking a table's privileges revokes its columns' too. Returns how many objects.
declare
  v_grant record;
  v_count integer := 0;
begin
  for v_grant in
    select distinct case when p.kind = 'column' then 'table' else p.kind end as kind, p.nsp, p.rel, p.fn,
           p.grantee::regrole as grantee
      from audit.app_privileges() p
     where p.grantee <> current_user::regrole and p.grantee <> 0
       and (p_grantee is null or p.grantee = p_grantee)
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
comment on function audit.revoke_all_from(oid) is
'Revoke every privilege a role (or every role but the owner) holds on our objects.';
revoke all on function audit.revoke_all_from(oid) from public;

select audit.revoke_all_from();
