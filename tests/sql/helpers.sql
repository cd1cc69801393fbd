-- Helpers for tests, installed only in test databases: log in as a staff role or a customer,
-- make fixtures. They switch role like the web client does, so RLS and grants apply for real.

create schema if not exists tests;
grant usage on schema tests to public;

create or replace function tests.make_user(p_roles text [], p_username text default null)
returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_name text := coalesce(p_username, 'test_' || array_to_string(p_roles, '_') || '_'
                          || substr(md5(random()::text), 1, 6));
  v_id bigint;
begin
  select id into v_id from auth.users where username = v_name::public.citext;
  if v_id is null then
    insert into auth.users (username, full_name, language, roles, db_role, password_hash)
    values (v_name, initcap(replace(v_name, '_', ' ')), 'en', p_roles, auth.role_for(p_roles),
            public.crypt('test-password-1', public.gen_salt('bf', 4)))
    returning id into v_id;
  end if;
  return v_id;
end;
$$;

create or replace function tests.session_for(p_user_id bigint)
returns text
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_token text := encode(public.gen_random_bytes(32), 'hex');
begin
  insert into auth.sessions (token_hash, csrf_token, user_id, expires_at)
  values (auth.token_hash(v_token), 'test', p_user_id, now() + interval '1 hour');
  return v_token;
end;
$$;

-- Run the rest of the transaction as a staff user holding these roles (e.g. '{billing}').
-- Call as the superuser; then `set local role` is done by tests.as_staff's caller:
--   select tests.as_staff('{support}');  -- returns the role name and sets the session token
create or replace function tests.login_staff(p_roles text [])
returns text
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  v_uid bigint := tests.make_user(p_roles, 'test_' || array_to_string(p_roles, '_'));
  v_role text;
begin
  select db_role into v_role from auth.users where id = v_uid;
  perform set_config('mango.session', tests.session_for(v_uid), true);
  return v_role;
end;
$$;

-- Switch the current transaction to a staff user with these roles (pgTAP: call, then test).
create or replace procedure tests.as_staff(p_roles text [])
language plpgsql security invoker set search_path = ''
as $$
declare
  v_role text := tests.login_staff(p_roles);
begin
  execute format('set local role %I', v_role);
end;
$$;

create or replace procedure tests.as_superuser()
language plpgsql security invoker set search_path = ''
as $$
begin
  reset role;
  perform set_config('mango.session', '', true);
end;
$$;
