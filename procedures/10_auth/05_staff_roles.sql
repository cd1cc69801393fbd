-- The database role of a set of staff roles (mango_as_billing_support), made on first use.
--
-- PostgreSQL 15 lets a role SET ROLE to every role it reaches through memberships, whatever their
-- INHERIT flags. The web client is a member of every mango_as_* role; were those members of the
-- group roles, it could switch to a bare mango_admin or mango_flow. So a mango_as_* role is a member
-- of the marker mango_staff only (which holds no privilege; staff policies name it) and holds its
-- groups' privileges directly: auth.sync_staff_role copies every privilege that its groups (and the
-- groups those are members of, e.g. mango_admin -> mango_billing, mango_office) hold on the objects
-- of our schemas. Grants in procedures/ name the groups as before; `mango migrate` re-syncs every
-- role in use, and a new role set is synced when first used.

drop policy if exists everyone_select_all on auth.staff_roles;
create policy everyone_select_all on auth.staff_roles for select to public using (true);
revoke all on auth.staff_roles from public;
grant select on auth.staff_roles to mango_self, mango_web, mango_role_maker;

create or replace function auth.staff_role_name(p_roles text[])
returns text
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The one normal form of a role set: known names only, sorted, without duplicates, and without the
-- roles an administrator holds anyway when admin is among them.
declare
  v_roles text[] := array(select distinct r from unnest(coalesce(p_roles, '{}')) r where r is not null order by r);
  v_unknown text;
begin
  select string_agg(r, ', ') into v_unknown
    from unnest(v_roles) r where not exists (select from auth.staff_roles s where s.name = r);
  if v_unknown is not null then
    raise exception 'unknown staff role: %', v_unknown using errcode = 'MG010', column = 'roles';
  end if;
  if 'admin' = any(v_roles) then
    v_roles := array(select r from unnest(v_roles) r
                      where not exists (select from auth.staff_roles s where s.name = r and s.held_by_admin)
                      order by r);
  end if;
  return 'mango_as_' || coalesce(nullif(array_to_string(v_roles, '_'), ''), 'none');
end;
$$;
comment on function auth.staff_role_name(text[]) is
'The name of the database role for a set of staff roles (mango_as_billing_support; mango_as_none).';
revoke all on function auth.staff_role_name(text[]) from public;
grant execute on function auth.staff_role_name(text[]) to mango_role_maker;

create or replace function auth.staff_role_parts(p_name text)
returns text[]
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The staff roles a role name stands for, or null if the name is not the normal form of any set.
  select case when p_name ~ '^mango_as_[a-z]+(_[a-z]+)*$'
              and (substr(p_name, 10) = 'none'
                   or auth.staff_role_name(string_to_array(substr(p_name, 10), '_')) = p_name)
              then case when substr(p_name, 10) = 'none' then '{}'::text[]
                        else string_to_array(substr(p_name, 10), '_') end
         end;
$$;
comment on function auth.staff_role_parts(text) is 'The staff roles of a mango_as_* role name (null: not such a name).';
revoke all on function auth.staff_role_parts(text) from public;
grant execute on function auth.staff_role_parts(text) to mango_role_maker;

-- auth.create_staff_role is owned by mango_role_maker, the one role with CREATEROLE: the set-up's
-- superuser creates it and gives it away (the owner, which runs every other definer function,
-- cannot create roles).
reset role;
create or replace function auth.create_staff_role(p_name text)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer, owned by mango_role_maker (CREATEROLE): the only code that creates a role. It accepts
-- only the normal name of a set of staff roles (auth.staff_role_parts), makes it a member of the
-- marker mango_staff and lets the web client switch to it; nothing else.
begin
  if auth.staff_role_parts(p_name) is null then
    raise exception 'not the name of a set of staff roles: %', p_name using errcode = 'MG010';
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = p_name) then
    begin
      execute format('create role %I nologin inherit', p_name);
    exception when duplicate_object or unique_violation then
      null;  -- created meanwhile by a concurrent transaction
    end;
  end if;
  if not pg_catalog.pg_has_role(p_name, 'mango_staff', 'member') then
    execute format('grant mango_staff to %I', p_name);
  end if;
  if not exists (select from pg_catalog.pg_auth_members m
                  where m.roleid = p_name::regrole and m.member = 'mango_web'::regrole) then
    execute format('grant %I to mango_web', p_name);
  end if;
end;
$$;
alter function auth.create_staff_role(text) owner to mango_role_maker;
comment on function auth.create_staff_role(text) is
'Create the database role of a set of staff roles (only such names); auth.role_for calls it.';
revoke all on function auth.create_staff_role(text) from public;
grant execute on function auth.create_staff_role(text) to mango_owner;
set local role mango_owner;

create or replace function auth.staff_groups(p_name text)
returns text[]
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The group roles whose privileges a mango_as_* role holds: mango_self, one per staff role, and
  -- every group those are members of (mango_admin -> mango_billing, …; office roles -> mango_office).
  with recursive g(oid) as (
    select r.oid from pg_catalog.pg_roles r
     where r.rolname = any(array['mango_self']
                           || array(select 'mango_' || p from unnest(auth.staff_role_parts(p_name)) p))
    union
    select m.roleid from pg_catalog.pg_auth_members m join g on m.member = g.oid
  )
  select array(select r.rolname::text from g join pg_catalog.pg_roles r on r.oid = g.oid order by 1);
$$;
comment on function auth.staff_groups(text) is 'The group roles whose privileges a mango_as_* role holds.';
revoke all on function auth.staff_groups(text) from public;

create or replace function auth.sync_staff_role(p_name text)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: granting on the objects of our schemas is their owner's. Revokes what the role holds
-- and grants again every privilege its groups hold (schemas, tables, views, sequences, columns,
-- functions), so it holds exactly their union. GRANT takes no lock on the tables. Returns the
-- number of privileges granted.
declare
  v_groups oid[];
  v_grant record;
  v_count integer := 0;
begin
  if auth.staff_role_parts(p_name) is null then
    raise exception 'not the name of a set of staff roles: %', p_name using errcode = 'MG010';
  end if;
  v_groups := array(select r.oid from pg_catalog.pg_roles r where r.rolname = any(auth.staff_groups(p_name)));
  perform audit.revoke_all_from(p_name::regrole);
  -- Grant what its groups hold.
  for v_grant in
    select distinct p.kind, p.privilege, p.nsp, p.rel, p.col, p.fn
      from audit.app_privileges() p
     where p.grantee = any(v_groups) and (p.kind <> 'routine' or p.privilege = 'EXECUTE')
  loop
    -- One statement per kind of privilege: no privilege name is pasted into SQL.
    case v_grant.kind || ' ' || v_grant.privilege
      when 'schema USAGE' then execute format('grant usage on schema %I to %I', v_grant.nsp, p_name);
      when 'schema CREATE' then execute format('grant create on schema %I to %I', v_grant.nsp, p_name);
      when 'sequence USAGE' then execute format('grant usage on sequence %s to %I', v_grant.rel, p_name);
      when 'sequence SELECT' then execute format('grant select on sequence %s to %I', v_grant.rel, p_name);
      when 'sequence UPDATE' then execute format('grant update on sequence %s to %I', v_grant.rel, p_name);
      when 'table SELECT' then execute format('grant select on table %s to %I', v_grant.rel, p_name);
      when 'table INSERT' then execute format('grant insert on table %s to %I', v_grant.rel, p_name);
      when 'table UPDATE' then execute format('grant update on table %s to %I', v_grant.rel, p_name);
      when 'table DELETE' then execute format('grant delete on table %s to %I', v_grant.rel, p_name);
      when 'table TRUNCATE' then execute format('grant truncate on table %s to %I', v_grant.rel, p_name);
      when 'table REFERENCES' then execute format('grant references on table %s to %I', v_grant.rel, p_name);
      when 'table TRIGGER' then execute format('grant trigger on table %s to %I', v_grant.rel, p_name);
      when 'column SELECT' then execute format('grant select (%I) on table %s to %I', v_grant.col, v_grant.rel, p_name);
      when 'column INSERT' then execute format('grant insert (%I) on table %s to %I', v_grant.col, v_grant.rel, p_name);
      when 'column UPDATE' then execute format('grant update (%I) on table %s to %I', v_grant.col, v_grant.rel, p_name);
      when 'column REFERENCES' then execute format('grant references (%I) on table %s to %I', v_grant.col, v_grant.rel, p_name);
      when 'routine EXECUTE' then execute format('grant execute on routine %s to %I', v_grant.fn, p_name);
      else raise exception 'unexpected privilege % on %', v_grant.privilege, v_grant.kind;
    end case;
    v_count := v_count + 1;
  end loop;
  return v_count;
end;
$$;
comment on function auth.sync_staff_role(text) is
'Give a mango_as_* role exactly the privileges of its groups in this database.';
revoke all on function auth.sync_staff_role(text) from public;

create or replace function auth.role_for(p_roles text[])
returns text
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: makes the role (through auth.create_staff_role) and syncs its privileges, both beyond
-- the caller's rights; auth.create_user, auth.update_user and the set-up call it.
declare
  v_name text := auth.staff_role_name(p_roles);
begin
  if not exists (select from pg_catalog.pg_roles where rolname = v_name)
     or not pg_catalog.pg_has_role(v_name, 'mango_staff', 'member') then
    perform auth.create_staff_role(v_name);
  end if;
  -- Synced in this database: it holds mango_self's usage of schema auth directly.
  if not exists (select from pg_catalog.pg_namespace n, aclexplode(n.nspacl) a
                  where n.nspname = 'auth' and a.grantee = v_name::regrole) then
    perform auth.sync_staff_role(v_name);
  end if;
  return v_name;
end;
$$;
comment on function auth.role_for(text[]) is
'The database role for a set of staff roles, made and synced on first use.';
revoke all on function auth.role_for(text[]) from public;

create or replace function auth.sync_staff_roles()
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: the set-up calls it after re-applying procedures/ (grants may have changed): every user
-- gets the role of their role set, and every role in use is synced. Returns how many roles.
declare
  v_user record;
  v_role text;
  v_count integer := 0;
begin
  for v_user in select id, roles, db_role from auth.users order by id loop
    v_role := auth.staff_role_name(v_user.roles);
    if not exists (select from pg_catalog.pg_roles where rolname = v_role)
       or not pg_catalog.pg_has_role(v_role, 'mango_staff', 'member') then
      perform auth.create_staff_role(v_role);
    end if;
    if v_role is distinct from v_user.db_role then
      update auth.users set db_role = v_role where id = v_user.id;
    end if;
  end loop;
  for v_role in select distinct db_role from auth.users order by 1 loop
    perform auth.sync_staff_role(v_role);
    v_count := v_count + 1;
  end loop;
  return v_count;
end;
$$;
comment on function auth.sync_staff_roles() is
'Re-sync the privileges of every mango_as_* role in use (after migrate).';
revoke all on function auth.sync_staff_roles() from public;

create or replace function auth.tg_users__validate_roles()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A user's roles are names of auth.staff_roles, kept sorted and without duplicates.
begin
  perform auth.staff_role_name(new.roles);  -- raises MG010 for an unknown name
  new.roles := array(select distinct r from unnest(new.roles) r order by r);
  return new;
end;
$$;
comment on function auth.tg_users__validate_roles() is 'A user''s roles are known staff roles, sorted.';
revoke all on function auth.tg_users__validate_roles() from public;

create or replace trigger _500_validate_roles before insert or update of roles on auth.users
for each row execute function auth.tg_users__validate_roles();
