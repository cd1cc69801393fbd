-- Login, sessions and throttling. Only the web client's role may call these.

create or replace function auth.login(p_username text, p_password text, p_ip inet, p_user_agent text)
returns table (status text, token text, retry_after timestamptz)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads password hashes and writes sessions, which the web role cannot touch.
-- Returns a status instead of raising, so the failed attempt is recorded (committed).
declare
  v_user auth.users;
  v_max integer := coalesce(auth.setting('login_max_failures')::integer, 5);
  v_lock interval := make_interval(mins => coalesce(auth.setting('login_lock_minutes')::integer, 15));
  v_failures integer;
  v_last_failure timestamptz;
  v_token text;
begin
  -- Failures in a row since the last success, inside the lock window. "Since" goes by id, not by
  -- time: attempts made in one transaction share their timestamp.
  select count(*), max(a.attempted_at) into v_failures, v_last_failure
    from auth.login_attempts a
   where a.username = lower(p_username)::public.citext
     and not a.success
     and a.attempted_at > now() - v_lock
     and a.id > coalesce((select max(b.id) from auth.login_attempts b
                           where b.username = lower(p_username)::public.citext and b.success), 0);
  if v_failures >= v_max then
    insert into auth.login_attempts (username, ip, success) values (lower(p_username), p_ip, false);
    return query select 'throttled'::text, null::text, v_last_failure + v_lock;
    return;
  end if;

  select * into v_user from auth.users where username = lower(p_username)::public.citext;
  if not found or v_user.password_hash <> public.crypt(p_password, v_user.password_hash) then
    if not found then
      perform public.crypt(p_password, public.gen_salt('bf', 11));  -- same time as a real check
    end if;
    insert into auth.login_attempts (username, ip, success) values (lower(p_username), p_ip, false);
    return query select 'invalid'::text, null::text, null::timestamptz;
    return;
  end if;
  if not v_user.active then
    insert into auth.login_attempts (username, ip, success) values (lower(p_username), p_ip, false);
    return query select 'inactive'::text, null::text, null::timestamptz;
    return;
  end if;

  insert into auth.login_attempts (username, ip, success) values (lower(p_username), p_ip, true);
  v_token := encode(public.gen_random_bytes(32), 'hex');
  insert into auth.sessions (token_hash, csrf_token, user_id, ip, user_agent, expires_at)
  values (auth.token_hash(v_token), encode(public.gen_random_bytes(24), 'hex'), v_user.id, p_ip,
          left(p_user_agent, 300),
          now() + make_interval(mins => coalesce(auth.setting('session_idle_minutes')::integer, 120)));
  update auth.users set last_login_at = now() where id = v_user.id;
  return query select 'ok'::text, v_token, null::timestamptz;
end;
$$;
comment on function auth.login(text, text, inet, text) is
'Check a staff login, throttle repeated failures, open a session and return its token.';
revoke all on function auth.login(text, text, inet, text) from public;
grant execute on function auth.login(text, text, inet, text) to mango_web;

create or replace function auth.resume_session(p_token text)
returns table (
    user_id bigint, username text, full_name text, language text, roles text[], db_role text, csrf_token text
)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads and extends sessions, which the web role cannot touch.
declare
  v_session auth.sessions;
begin
  select * into v_session from auth.sessions s
   where s.token_hash = auth.token_hash(p_token) and s.ended_at is null and s.expires_at > now();
  if not found then
    return;
  end if;
  -- Slide the idle timeout, at most once a minute, never past the absolute limit. (The settings
  -- are read only then: most requests cost one index lookup here.)
  if v_session.last_seen_at < now() - interval '1 minute' then
    update auth.sessions s
       set last_seen_at = now(),
           expires_at = least(
             now() + make_interval(mins => coalesce(auth.setting('session_idle_minutes')::integer, 120)),
             s.created_at + make_interval(hours => coalesce(auth.setting('session_max_hours')::integer, 12)))
     where s.id = v_session.id;
  end if;
  return query
    select u.id, u.username::text, u.full_name, u.language, u.roles, u.db_role, v_session.csrf_token
      from auth.users u where u.id = v_session.user_id and u.active;
end;
$$;
comment on function auth.resume_session(text) is 'The user of a live session token; slides its idle timeout.';
revoke all on function auth.resume_session(text) from public;
grant execute on function auth.resume_session(text) to mango_web;

create or replace function auth.logout(p_token text)
returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: ends a session, which the web role cannot write directly.
  update auth.sessions set ended_at = now() where token_hash = auth.token_hash(p_token) and ended_at is null;
$$;
comment on function auth.logout(text) is 'End a session.';
revoke all on function auth.logout(text) from public;
grant execute on function auth.logout(text) to mango_web;

create or replace function auth.purge_sessions(p_keep interval default interval '90 days')
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: housekeeping of tables no application role can write.
declare
  v_count integer;
begin
  delete from auth.sessions where coalesce(ended_at, expires_at) < now() - p_keep;
  get diagnostics v_count = row_count;
  delete from auth.login_attempts where attempted_at < now() - p_keep;
  return v_count;
end;
$$;
comment on function auth.purge_sessions(interval) is 'Delete sessions and login attempts older than a period.';
revoke all on function auth.purge_sessions(interval) from public;
grant execute on function auth.purge_sessions(interval) to mango_agent_scheduler, mango_admin;

alter table auth.sessions enable row level security;
