-- Staff users: roles, passwords, administration. Every function here that changes a user asks for a
-- signed-in user who holds the right (auth.may), or the console; a role switched to without a
-- session changes nothing.
--
-- Officers (flow) and retention supervisors (supervisor) are a second person beside the
-- administrators: an administrator cannot give or take these roles, nor set the password of or
-- deactivate a user who holds one; an officer or a supervisor can, for someone else (never for
-- themselves). auth.staff_roles.granted_by says who gives which role.

insert into auth.settings (key, value, description) values
('session_idle_minutes', '120', 'A session ends after this many minutes without a request.'),
('session_max_hours', '12', 'A session ends this many hours after login whatever happens.'),
('min_password_length', '10', 'Shortest password accepted.'),
('bcrypt_cost', '11', 'bcrypt work factor for new password hashes.')
on conflict (key) do nothing;

create or replace function auth.hash_password(p_password text)
returns text
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_min integer := coalesce(auth.setting('min_password_length')::integer, 10);
begin
  if p_password is null or length(p_password) < v_min then
    raise exception 'the password must have at least % characters', v_min
      using errcode = 'MG010', column = 'password';
  end if;
  if length(p_password) > 200 then
    raise exception 'the password may have at most 200 characters' using errcode = 'MG010', column = 'password';
  end if;
  return public.crypt(p_password, public.gen_salt('bf', coalesce(auth.setting('bcrypt_cost')::integer, 11)));
end;
$$;
comment on function auth.hash_password(text) is 'bcrypt hash of a new password, after the length rule.';
revoke all on function auth.hash_password(text) from public;

create or replace function auth.may_give(p_role text, p_user_id bigint)
returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: reads auth.staff_roles and the session. The console may give anything. Otherwise the
  -- signed-in user holds a role of the role's granted_by; a role that administrators do not hold
  -- (flow, supervisor) is never given or taken by its own user.
  select auth.is_console()
      or (exists (select from auth.staff_roles r, unnest(r.granted_by) g
                   where r.name = p_role and auth.may(g))
          and (p_user_id is distinct from auth.user_id()
               or exists (select from auth.staff_roles r where r.name = p_role and r.held_by_admin)
               or p_role = 'admin'));
$$;
comment on function auth.may_give(text, bigint) is
'Whether the signed-in user may give or take a staff role of a user (officer roles need a second person).';
revoke all on function auth.may_give(text, bigint) from public;
grant execute on function auth.may_give(text, bigint) to mango_self;

create or replace function auth.may_manage(p_user_id bigint)
returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: reads auth.users. Setting a password or the active flag of a user who holds a role
  -- that administrators cannot give is for those who may give it (the console always may).
  select auth.is_console()
      or (coalesce((select bool_and(auth.may_give(r, u.id)) from auth.users u, unnest(u.roles) r
                     where u.id = p_user_id
                       and not exists (select from auth.staff_roles s where s.name = r and 'admin' = any(s.granted_by))),
                   true)
          and (auth.may('admin')
               or exists (select from auth.users u, unnest(u.roles) r
                           where u.id = p_user_id
                             and not exists (select from auth.staff_roles s
                                              where s.name = r and 'admin' = any(s.granted_by)))));
$$;
comment on function auth.may_manage(bigint) is
'Whether the signed-in user may set the password or the active flag of a user.';
revoke all on function auth.may_manage(bigint) from public;
grant execute on function auth.may_manage(bigint) to mango_self;

create or replace function auth.checked_roles(p_user_id bigint, p_old text[], p_new text[])
returns text[]
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The roles a user ends up with when the caller asks for p_new: a role the caller may not give or
-- take and did not change stays as it was; asking to change one is an error naming it. The
-- console gets exactly p_new.
declare
  v_new text[] := array(select distinct r from unnest(coalesce(p_new, '{}')) r where r is not null order by r);
  v_role text;
begin
  perform auth.staff_role_name(v_new);  -- unknown names: MG010
  if auth.is_console() then
    return v_new;
  end if;
  for v_role in
    select r from unnest(v_new) r where r <> all(coalesce(p_old, '{}'))
    union
    select r from unnest(coalesce(p_old, '{}')) r where r <> all(v_new)
  loop
    if auth.may_give(v_role, p_user_id) then
      continue;
    end if;
    -- Not the caller's to change: an administrator's form does not show it, so its absence from
    -- p_new means "as it was"; asking for it is refused.
    if v_role = any(v_new) and v_role <> all(coalesce(p_old, '{}')) then
      raise exception 'you may not give the % role%', v_role,
        case when p_user_id is not distinct from auth.user_id() then ' to yourself: it needs a second person'
             else ': an officer or a retention supervisor gives it' end
        using errcode = '42501', column = 'roles';
    end if;
    v_new := array(select distinct r from unnest(v_new || v_role) r order by r);
  end loop;
  return v_new;
end;
$$;
comment on function auth.checked_roles(bigint, text[], text[]) is
'The roles a user gets when the caller asks for a set: what the caller may not change stays.';
revoke all on function auth.checked_roles(bigint, text[], text[]) from public;

create or replace function auth.create_user(
    p_username text, p_full_name text, p_email text, p_language text, p_roles text[], p_password text
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes auth.users, which no role may write directly. Needs a signed-in administrator
-- (or the console); the roles it gives are checked like any change of roles.
declare
  v_id bigint;
  v_roles text[];
begin
  perform auth.require_role('admin');
  if exists (select from auth.users where username = lower(p_username)::public.citext) then
    raise exception 'user name % is taken', p_username using errcode = 'MG011', column = 'username';
  end if;
  v_roles := auth.checked_roles(null, '{}', p_roles);
  insert into auth.users (username, full_name, email, language, roles, db_role, password_hash)
  values (lower(p_username), p_full_name, nullif(btrim(p_email), ''), coalesce(p_language, 'cs'),
          v_roles, auth.role_for(v_roles), auth.hash_password(p_password))
  returning id into v_id;
  return v_id;
end;
$$;
comment on function auth.create_user(text, text, text, text, text[], text) is
'Create a staff user (a signed-in administrator, or the console).';
revoke all on function auth.create_user(text, text, text, text, text[], text) from public;
grant execute on function auth.create_user(text, text, text, text, text[], text) to mango_admin;

create or replace function auth.update_user(
    p_id bigint, p_full_name text, p_email text, p_language text, p_roles text[], p_active boolean
)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes auth.users. Details need a signed-in administrator; every role changed needs
-- the right to give it (auth.checked_roles), the active flag the right to manage the user.
declare
  v_user auth.users;
  v_roles text[];
begin
  perform auth.require_role('admin');
  select * into v_user from auth.users where id = p_id for update;
  if not found then
    raise exception 'user % does not exist', p_id using errcode = 'MG013';
  end if;
  if p_id = auth.user_id() and not ('admin' = any(p_roles) and p_active) then
    raise exception 'you cannot remove your own admin role or deactivate yourself'
      using errcode = 'MG012', column = 'roles';
  end if;
  if p_active is distinct from v_user.active and not auth.may_manage(p_id) then
    raise exception 'an officer or a retention supervisor activates or deactivates this user'
      using errcode = '42501', column = 'active';
  end if;
  v_roles := auth.checked_roles(p_id, v_user.roles, p_roles);
  update auth.users
     set full_name = p_full_name,
         email = nullif(btrim(p_email), ''),
         language = p_language,
         roles = v_roles,
         db_role = auth.role_for(v_roles),
         active = p_active
   where id = p_id;
  if not p_active then
    update auth.sessions set ended_at = now() where user_id = p_id and ended_at is null;
  end if;
end;
$$;
comment on function auth.update_user(bigint, text, text, text, text[], boolean) is
'Change a staff user''s details, roles or active flag (a signed-in administrator, or the console).';
revoke all on function auth.update_user(bigint, text, text, text, text[], boolean) from public;
grant execute on function auth.update_user(bigint, text, text, text, text[], boolean) to mango_admin;

create or replace function auth.set_user_role(p_id bigint, p_role text, p_holds boolean)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes auth.users. Gives or takes one role: how officers and supervisors give the
-- roles an administrator cannot (the audit trigger records who did it).
declare
  v_user auth.users;
  v_roles text[];
begin
  perform auth.require_role('staff');
  select * into v_user from auth.users where id = p_id for update;
  if not found then
    raise exception 'user % does not exist', p_id using errcode = 'MG013';
  end if;
  if not auth.may_give(p_role, p_id) then
    raise exception 'you may not give or take the % role%', p_role,
      case when p_id = auth.user_id() then ' of yourself: it needs a second person' else '' end
      using errcode = '42501', column = 'roles';
  end if;
  v_roles := array(select distinct r from unnest(v_user.roles || p_role) r
                    where p_holds or r <> p_role order by r);
  if v_roles = v_user.roles then
    return;
  end if;
  update auth.users set roles = v_roles, db_role = auth.role_for(v_roles) where id = p_id;
end;
$$;
comment on function auth.set_user_role(bigint, text, boolean) is
'Give or take one staff role of a user (officers and supervisors give the officer role).';
revoke all on function auth.set_user_role(bigint, text, boolean) from public;
grant execute on function auth.set_user_role(bigint, text, boolean) to mango_admin, mango_flow, mango_supervisor;

create or replace function auth.set_password(p_id bigint, p_password text)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes the password hash. Needs the right to manage the user: an administrator, or for
-- an officer or supervisor another officer or supervisor.
begin
  if not exists (select from auth.users where id = p_id) then
    raise exception 'user % does not exist', p_id using errcode = 'MG013';
  end if;
  if not auth.may_manage(p_id) then
    raise exception 'you may not set this user''s password' using errcode = '42501', column = 'password';
  end if;
  update auth.users set password_hash = auth.hash_password(p_password), password_changed_at = now()
   where id = p_id;
  update auth.sessions set ended_at = now() where user_id = p_id and ended_at is null;
end;
$$;
comment on function auth.set_password(bigint, text) is 'Set a user''s password and end their sessions.';
revoke all on function auth.set_password(bigint, text) from public;
grant execute on function auth.set_password(bigint, text) to mango_admin, mango_flow, mango_supervisor;

create or replace function auth.change_my_password(p_old text, p_new text)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads and writes the caller's own password hash.
declare
  v_uid bigint := auth.user_id();
begin
  if v_uid is null then
    raise exception 'no session' using errcode = '42501';
  end if;
  if not exists (select from auth.users where id = v_uid and password_hash = public.crypt(p_old, password_hash)) then
    raise exception 'the current password is wrong' using errcode = 'MG014', column = 'old';
  end if;
  update auth.users set password_hash = auth.hash_password(p_new), password_changed_at = now() where id = v_uid;
  update auth.sessions set ended_at = now()
   where user_id = v_uid and ended_at is null
     and token_hash <> auth.token_hash(current_setting('mango.session', true));
end;
$$;
comment on function auth.change_my_password(text, text) is 'A user changes their own password; other sessions end.';
revoke all on function auth.change_my_password(text, text) from public;
grant execute on function auth.change_my_password(text, text) to mango_self;

create or replace function auth.set_my_language(p_language text)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: a user may change this one column of their own row.
declare
  v_uid bigint := auth.user_id();
begin
  if v_uid is null then
    raise exception 'no session' using errcode = '42501';
  end if;
  update auth.users set language = p_language where id = v_uid and language is distinct from p_language;
end;
$$;
comment on function auth.set_my_language(text) is 'A user chooses the interface language (cs or en).';
revoke all on function auth.set_my_language(text) from public;
grant execute on function auth.set_my_language(text) to mango_self;

create or replace trigger _100_timestamps before update on auth.users
for each row execute function audit.tg__updated_at();

-- Who may read the user list: administrators, and the officers and supervisors who manage officers.
-- The office roles read names (for the audit history and the card's notes). Rows only for a
-- signed-in user.
alter table auth.users enable row level security;
drop policy if exists staff_select_all on auth.users;
create policy staff_select_all on auth.users for select to mango_staff using ((select auth.user_id()) is not null);
revoke all on auth.users from public;
grant select (id, username, full_name, active) on auth.users to mango_office, mango_flow, mango_supervisor;
grant select (id, username, full_name, email, language, roles, active, last_login_at, created_at, updated_at)
on auth.users to mango_admin, mango_flow, mango_supervisor;

alter table auth.settings enable row level security;
alter table auth.login_attempts enable row level security;
drop policy if exists admin_select_all on auth.login_attempts;
create policy admin_select_all on auth.login_attempts for select to mango_staff
using ((select auth.may('admin')));
grant select on auth.login_attempts to mango_admin;
