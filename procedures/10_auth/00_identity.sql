-- Identity functions: who is calling, and may they. RLS policies and functions call these.

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
to mango_staff, mango_agent, mango_customer, mango_partner, mango_flow, mango_report, mango_web;

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

create or replace function auth.user_id()
returns bigint
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: reads auth.sessions, which no application role can read. The session token set by
  -- the web client must belong to a live session of a user whose role is the caller's role, so
  -- SQL that switches role or sets another token cannot claim another identity.
  select s.user_id
    from auth.sessions s
    join auth.users u on u.id = s.user_id
   where s.token_hash = auth.token_hash(current_setting('mango.session', true))
     and s.ended_at is null
     and s.expires_at > now()
     and u.active
     and u.db_role = auth.caller_role();
$$;
comment on function auth.user_id() is 'The staff user of the current request, or null.';
revoke all on function auth.user_id() from public;
grant execute on function auth.user_id()
to mango_staff, mango_agent, mango_customer, mango_partner, mango_flow, mango_report;

create or replace function auth.has_role(p_role text)
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.pg_has_role(auth.caller_role(), 'mango_' || p_role, 'member');
$$;
comment on function auth.has_role(text) is 'Whether the caller holds a staff role (admin holds them all).';
revoke all on function auth.has_role(text) from public;
grant execute on function auth.has_role(text)
to mango_staff, mango_agent, mango_customer, mango_partner, mango_flow, mango_report;

create or replace function auth.require_role(p_role text)
returns void
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if not auth.has_role(p_role) then
    raise exception 'this needs the % role', p_role using errcode = '42501';
  end if;
end;
$$;
comment on function auth.require_role(text) is 'Raise a permission error unless the caller holds the role.';
revoke all on function auth.require_role(text) from public;
grant execute on function auth.require_role(text)
to mango_staff, mango_agent, mango_customer, mango_partner, mango_flow, mango_report;
