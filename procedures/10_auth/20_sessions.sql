-- Login, sessions and throttling. Only the web client's role may call these.

insert into auth.settings (key, value, description) values
('login_free_failures', '3', 'Wrong passwords in a row a user may make before each next try waits.'),
('login_delay_seconds', '2', 'The first wait after the free failures; it doubles with every further failure.'),
('login_max_delay_seconds', '120', 'The longest wait between two tries of one user.'),
('login_address_max_failures', '20', 'Failed logins one client address may make within the window, over all names.'),
('login_address_window_minutes', '15', 'The window of the per-address limit.')
on conflict (key) do nothing;
-- The settings of the former rule (five failures lock a user out for 15 minutes from everywhere).
delete from auth.settings
where key in ('login_max_failures', 'login_lock_minutes');

create or replace function auth.login_retry_after(p_username text, p_ip inet)
returns timestamptz
language plpgsql stable security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads auth.login_attempts. When the next try of this user from this address may come,
-- or null if now. Two rules: a growing delay per user (wrong passwords in a row since the last
-- success, refused tries not counted, so an attacker cannot keep a user out for long), and a
-- limit per client address over all user names (one address spraying many names stops).
declare
  v_free integer := coalesce(auth.setting('login_free_failures')::integer, 3);
  v_delay numeric := coalesce(auth.setting('login_delay_seconds')::numeric, 2);
  v_max_delay numeric := coalesce(auth.setting('login_max_delay_seconds')::numeric, 120);
  v_address_max integer := coalesce(auth.setting('login_address_max_failures')::integer, 20);
  v_window interval := make_interval(mins => coalesce(auth.setting('login_address_window_minutes')::integer, 15));
  v_failures integer;
  v_last timestamptz;
  v_user_after timestamptz;
  v_address_after timestamptz;
begin
  -- "Since the last success" goes by id: attempts made in one transaction share their time.
  select count(*), max(a.attempted_at) into v_failures, v_last
    from auth.login_attempts a
   where a.username = lower(p_username)::public.citext
     and not a.success and not a.throttled
     and a.attempted_at > now() - interval '1 day'
     and a.id > coalesce((select max(b.id) from auth.login_attempts b
                           where b.username = lower(p_username)::public.citext and b.success), 0);
  if v_failures >= v_free then
    v_user_after := v_last + make_interval(secs => least(v_delay * 2 ^ (v_failures - v_free), v_max_delay));
  end if;
  if p_ip is not null then
    select case when count(*) >= v_address_max then min(t.attempted_at) + v_window end into v_address_after
      from (select a.attempted_at from auth.login_attempts a
             where a.ip = p_ip and not a.success and a.attempted_at > now() - v_window
             order by a.attempted_at desc limit v_address_max) t;
  end if;
  return nullif(greatest(v_user_after, v_address_after, now()), now());
end;
$$;
comment on function auth.login_retry_after(text, inet) is
'When a user may try to log in again from an address (null: now).';
revoke all on function auth.login_retry_after(text, inet) from public;

create or replace function auth.login(p_username text, p_password text, p_ip inet, p_user_agent text)
returns table (status text, token text, retry_after timestamptz)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads password hashes and writes sessions, which the web role cannot touch.
-- Returns a status instead of raising, so the failed attempt is recorded (committed). The user's
-- and the address's attempts are counted and recorded under a lock of each (user first), so two
-- concurrent tries cannot both pass the count. An unknown user, a wrong password and an inactive
-- account answer alike ('invalid').
declare
  v_name text := lower(left(coalesce(p_username, ''), 64));
  v_user auth.users;
  v_after timestamptz;
  v_token text;
begin
  perform pg_advisory_xact_lock(hashtextextended('mango.login.user:' || v_name, 0));
  if p_ip is not null then
    perform pg_advisory_xact_lock(hashtextextended('mango.login.address:' || host(p_ip), 0));
  end if;
  v_after := auth.login_retry_after(v_name, p_ip);
  if v_after is not null then
    insert into auth.login_attempts (username, ip, success, throttled) values (v_name, p_ip, false, true);
    return query select 'throttled'::text, null::text, v_after;
    return;
  end if;

  select * into v_user from auth.users where username = v_name::public.citext;
  if not found or v_user.password_hash <> public.crypt(coalesce(p_password, ''), v_user.password_hash)
     or not v_user.active then
    if not found then
      perform public.crypt(coalesce(p_password, ''), public.gen_salt('bf', 11));  -- same time as a real check
    end if;
    insert into auth.login_attempts (username, ip, success) values (v_name, p_ip, false);
    return query select 'invalid'::text, null::text, null::timestamptz;
    return;
  end if;

  insert into auth.login_attempts (username, ip, success) values (v_name, p_ip, true);
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
'Check a staff login, throttle repeated failures (per user and per address), open a session.';
revoke all on function auth.login(text, text, inet, text) from public;
grant execute on function auth.login(text, text, inet, text) to mango_web;

-- (The rights column was added: the result type changed, so the old function goes first.)
do $$
begin
  if exists (select from pg_catalog.pg_proc p where p.oid = to_regprocedure('auth.resume_session(text)')
                and cardinality(p.proallargtypes) = 8) then
    drop function auth.resume_session(text);
  end if;
end;
$$;
create or replace function auth.resume_session(p_token text)
returns table (
    user_id bigint, username text, full_name text, language text, roles text[], db_role text, csrf_token text,
    rights text[]
)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads and extends sessions, which the web role cannot touch. `rights` are the staff
-- rights the user holds (their roles, and for an administrator the roles administrators hold too):
-- what pages show or hide follows it, as auth.may decides in the database.
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
    select u.id, u.username::text, u.full_name, u.language, u.roles, u.db_role, v_session.csrf_token,
           case when 'admin' = any(u.roles)
                then array(select distinct r from unnest(u.roles || array(select s.name from auth.staff_roles s
                                                                           where s.held_by_admin)) r order by r)
                else u.roles end
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
-- definer: housekeeping of tables no application role can write. The scheduler's daily job, a
-- signed-in administrator or the console; never less than 30 days, so the security log of
-- recent logins stays.
declare
  v_count integer;
begin
  if not (auth.has_role('agent_scheduler') or auth.may('admin')) then
    raise exception 'only the scheduler or a signed-in administrator purges sessions' using errcode = '42501';
  end if;
  if p_keep is null or p_keep < interval '30 days' then
    raise exception 'sessions and login attempts are kept at least 30 days (asked: %)', p_keep
      using errcode = 'MG010', column = 'keep';
  end if;
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
