-- Identity functions: who is calling, and may they. RLS policies and functions call these.
--
-- A switched role alone grants nothing sensitive: the web client's login (mango_web) can switch to
-- any mango_as_* role, so a function or policy that guards users, settings, money or flows asks for
-- a live session of a user who holds the right (auth.may), not only for the role in use.

create or replace function auth.caller_role()
returns text
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The role the caller runs as: the SET ROLE target (it survives inside security definer
  -- functions, where current_user is the owner), else the login role.
  select coalesce(nullif(current_setting('role', true), 'none'), session_user::text);
$$;
comment on function auth.caller_role() is 'The role the caller runs as, also inside security definer functions.';
revoke all on function auth.caller_role() from public;
grant execute on function auth.caller_role()
to mango_self, mango_agent, mango_customer, mango_partner, mango_web;

create or replace function auth.is_console()
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- A superuser's own connection that has not switched role: the set-up, `mango user add`, a DBA
  -- in psql. It may do what an administrator may, and the audit records it under its own name.
  select coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = session_user), false)
     and auth.caller_role() = session_user::text;
$$;
comment on function auth.is_console() is
'Whether the caller is a superuser at the console (not switched to another role).';
revoke all on function auth.is_console() from public;

create or replace function auth.setting(p_key text)
returns jsonb
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: auth.settings is not readable by application roles.
  select value from auth.settings where key = p_key;
$$;
comment on function auth.setting(text) is 'One security setting (session lifetime, throttling, password rules).';
revoke all on function auth.setting(text) from public;

create or replace function auth.token_hash(p_token text)
returns bytea
language sql immutable security invoker
as $$
  -- [inlined]: no `set search_path`, so that the planner inlines it (every page resumes its
  -- session through it; a SQL function with a SET clause is parsed and planned on every call).
  select public.digest(p_token, 'sha256');
$$;
comment on function auth.token_hash(text) is 'SHA-256 of a session token: only the hash is stored. [inlined]';
revoke all on function auth.token_hash(text) from public;

-- (It returned a set before it became PL/pgSQL: that one goes first.)
do $$
begin
  if exists (select from pg_catalog.pg_proc p where p.oid = to_regprocedure('auth.signed_in()') and p.proretset) then
    drop function auth.signed_in();
  end if;
end;
$$;
create or replace function auth.signed_in(out user_id bigint, out roles text[])
language plpgsql stable security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads auth.sessions, which no application role can read. The session token set by
-- the web client must belong to a live session of an active user whose database role is the
-- caller's role, so SQL that switches role or sets another token cannot claim another identity.
-- PL/pgSQL, so that its plan is kept for the session: the audit trigger of every row and the
-- policies on flows ask it (as a SQL function with a SET clause it was planned on every call).
begin
  select u.id, u.roles into user_id, roles
    from auth.sessions s
    join auth.users u on u.id = s.user_id
   where s.token_hash = auth.token_hash(current_setting('mango.session', true))
     and s.ended_at is null
     and s.expires_at > now()
     and u.active
     and u.db_role = coalesce(nullif(current_setting('role', true), 'none'), session_user::text);
end;
$$;
comment on function auth.signed_in() is 'The staff user of the current request and their roles (no row: none).';
revoke all on function auth.signed_in() from public;

create or replace function auth.user_id()
returns bigint
language plpgsql stable security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see auth.signed_in.
begin
  return (auth.signed_in()).user_id;
end;
$$;
comment on function auth.user_id() is 'The staff user of the current request, or null.';
revoke all on function auth.user_id() from public;
grant execute on function auth.user_id()
to mango_self, mango_agent, mango_customer, mango_partner;

create or replace function auth.may(p_right text)
returns boolean
language plpgsql stable security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads the session (auth.signed_in). True for the console; else only for a signed-in
-- user who holds the right, never for a role switched to without a session.
declare
  v_roles text[] := (auth.signed_in()).roles;
begin
  if v_roles is not null then
    return p_right = 'staff' or p_right = any(v_roles)
        or ('admin' = any(v_roles)
            and exists (select from auth.staff_roles r where r.name = p_right and r.held_by_admin));
  end if;
  return auth.is_console();
end;
$$;
comment on function auth.may(text) is
'Whether the signed-in user (or the console) holds a staff right: admin, billing, …, flow, supervisor, staff.';
revoke all on function auth.may(text) from public;
grant execute on function auth.may(text)
to mango_self, mango_agent, mango_customer, mango_partner;

create or replace function auth.has_role(p_role text)
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- 'agent_<name>': the caller is that agent's login; any other name is a staff right (auth.may).
  select case when p_role like 'agent\_%' then auth.caller_role() = 'mango_' || p_role
              else auth.may(p_role) end;
$$;
comment on function auth.has_role(text) is
'Whether the caller is a signed-in user holding a staff right, or (agent_<name>) that agent.';
revoke all on function auth.has_role(text) from public;
grant execute on function auth.has_role(text)
to mango_self, mango_agent, mango_customer, mango_partner;

create or replace function auth.require_role(p_role text)
returns void
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if not auth.has_role(p_role) then
    raise exception 'this needs a signed-in user with the % role', p_role using errcode = '42501';
  end if;
end;
$$;
comment on function auth.require_role(text) is
'Raise a permission error unless the caller holds the right (auth.has_role: signed in, or the console).';
revoke all on function auth.require_role(text) from public;
grant execute on function auth.require_role(text)
to mango_self, mango_agent, mango_customer, mango_partner;
