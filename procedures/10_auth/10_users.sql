-- Staff users: roles, passwords, administration (admin only, enforced here).

insert into auth.settings (key, value, description) values
('session_idle_minutes', '120', 'A session ends after this many minutes without a request.'),
('session_max_hours', '12', 'A session ends this many hours after login whatever happens.'),
('login_max_failures', '5', 'Failed logins in a row before the account is throttled.'),
('login_lock_minutes', '15', 'How long a throttled account must wait.'),
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
    raise exception 'the password must have at least % characters', v_min using errcode = 'MG010';
  end if;
  return public.crypt(p_password, public.gen_salt('bf', coalesce(auth.setting('bcrypt_cost')::integer, 11)));
end;
$$;
comment on function auth.hash_password(text) is 'bcrypt hash of a new password, after the length rule.';
revoke all on function auth.hash_password(text) from public;

create or replace function auth.is_direct_member(p_group text, p_member text)
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select exists (
    select from pg_catalog.pg_auth_members m
      join pg_catalog.pg_roles g on g.oid = m.roleid
      join pg_catalog.pg_roles u on u.oid = m.member
     where g.rolname = p_group and u.rolname = p_member
  );
$$;
comment on function auth.is_direct_member(text, text) is 'Whether a role is granted directly to another.';
revoke all on function auth.is_direct_member(text, text) from public;

create or replace function auth.role_for(p_roles text[])
returns text
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: creating a role and granting it to the web client needs mango_owner's CREATEROLE.
declare
  v_roles text [] := array(select distinct r from unnest(p_roles) r where r is not null order by r);
  v_name text;
  v_role text;
begin
  -- 'flow': officers who answer lawful requests (mango_flow); administrators do not hold it.
  if not v_roles <@ array['admin', 'billing', 'support', 'technician', 'sales', 'report', 'flow'] then
    raise exception 'unknown staff role in %', p_roles using errcode = 'MG010';
  end if;
  v_name := 'mango_as_' || coalesce(nullif(array_to_string(v_roles, '_'), ''), 'staff');
  if not exists (select from pg_catalog.pg_roles where rolname = v_name) then
    begin
      execute format('create role %I nologin', v_name);
    exception when duplicate_object or unique_violation then
      null;  -- created meanwhile by a concurrent transaction
    end;
  end if;
  foreach v_role in array 'staff'::text || v_roles loop
    if not auth.is_direct_member('mango_' || v_role, v_name) then
      execute format('grant %I to %I', 'mango_' || v_role, v_name);
    end if;
  end loop;
  if not auth.is_direct_member(v_name, 'mango_web') then
    execute format('grant %I to mango_web', v_name);
  end if;
  return v_name;
end;
$$;
comment on function auth.role_for(text[]) is 'The database role for a set of staff roles, created on first use.';
revoke all on function auth.role_for(text[]) from public;

create or replace function auth.create_user(
    p_username text, p_full_name text, p_email text, p_language text, p_roles text[], p_password text
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes auth.users, which no role may write directly; checks the admin role itself.
declare
  v_id bigint;
begin
  perform auth.require_role('admin');
  if exists (select from auth.users where username = lower(p_username)::public.citext) then
    raise exception 'user name % is taken', p_username using errcode = 'MG011';
  end if;
  insert into auth.users (username, full_name, email, language, roles, db_role, password_hash)
  values (lower(p_username), p_full_name, nullif(btrim(p_email), ''), coalesce(p_language, 'cs'),
          coalesce(p_roles, '{}'), auth.role_for(coalesce(p_roles, '{}')), auth.hash_password(p_password))
  returning id into v_id;
  return v_id;
end;
$$;
comment on function auth.create_user(text, text, text, text, text[], text) is 'Create a staff user (admin only).';
revoke all on function auth.create_user(text, text, text, text, text[], text) from public;
grant execute on function auth.create_user(text, text, text, text, text[], text) to mango_admin;

create or replace function auth.update_user(
    p_id bigint, p_full_name text, p_email text, p_language text, p_roles text[], p_active boolean
)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes auth.users; checks the admin role itself.
begin
  perform auth.require_role('admin');
  if p_id = auth.user_id() and not ('admin' = any(p_roles) and p_active) then
    raise exception 'you cannot remove your own admin role or deactivate yourself' using errcode = 'MG012';
  end if;
  update auth.users
     set full_name = p_full_name,
         email = nullif(btrim(p_email), ''),
         language = p_language,
         roles = array(select distinct r from unnest(p_roles) r order by r),
         db_role = auth.role_for(p_roles),
         active = p_active
   where id = p_id;
  if not found then
    raise exception 'user % does not exist', p_id using errcode = 'MG013';
  end if;
  if not p_active then
    update auth.sessions set ended_at = now() where user_id = p_id and ended_at is null;
  end if;
end;
$$;
comment on function auth.update_user(bigint, text, text, text, text[], boolean) is
'Change a staff user''s details, roles or active flag (admin only).';
revoke all on function auth.update_user(bigint, text, text, text, text[], boolean) from public;
grant execute on function auth.update_user(bigint, text, text, text, text[], boolean) to mango_admin;

create or replace function auth.set_password(p_id bigint, p_password text)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes the password hash; checks the admin role itself.
begin
  perform auth.require_role('admin');
  update auth.users set password_hash = auth.hash_password(p_password), password_changed_at = now()
   where id = p_id;
  if not found then
    raise exception 'user % does not exist', p_id using errcode = 'MG013';
  end if;
  update auth.sessions set ended_at = now() where user_id = p_id and ended_at is null;
end;
$$;
comment on function auth.set_password(bigint, text) is 'Set a user''s password and end their sessions (admin only).';
revoke all on function auth.set_password(bigint, text) from public;
grant execute on function auth.set_password(bigint, text) to mango_admin;

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
    raise exception 'the current password is wrong' using errcode = 'MG014';
  end if;
  update auth.users set password_hash = auth.hash_password(p_new), password_changed_at = now() where id = v_uid;
  update auth.sessions set ended_at = now()
   where user_id = v_uid and ended_at is null
     and token_hash <> auth.token_hash(current_setting('mango.session', true));
end;
$$;
comment on function auth.change_my_password(text, text) is 'A user changes their own password; other sessions end.';
revoke all on function auth.change_my_password(text, text) from public;
grant execute on function auth.change_my_password(text, text) to mango_staff;

create or replace function auth.set_my_language(p_language text)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: a user may change this one column of their own row.
begin
  update auth.users set language = p_language where id = auth.user_id();
end;
$$;
comment on function auth.set_my_language(text) is 'A user chooses the interface language (cs or en).';
revoke all on function auth.set_my_language(text) from public;
grant execute on function auth.set_my_language(text) to mango_staff;

create or replace trigger _100_timestamps before update on auth.users
for each row execute function audit.tg__updated_at();
-- The former copy of audit.tg__updated_at, now unused.
drop function if exists auth.tg_users__timestamps();

alter table auth.users enable row level security;
drop policy if exists staff_select_all on auth.users;
create policy staff_select_all on auth.users for select to mango_staff using (true);
revoke all on auth.users from public;
grant select (
    id, username, full_name, email, language, roles, active, last_login_at, created_at, updated_at
) on auth.users to mango_staff;

alter table auth.settings enable row level security;
alter table auth.login_attempts enable row level security;
drop policy if exists admin_select_all on auth.login_attempts;
create policy admin_select_all on auth.login_attempts for select to mango_admin using (true);
grant select on auth.login_attempts to mango_admin;
