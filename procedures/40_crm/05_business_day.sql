-- One business day: what "today" is for an operator is the date in the operator's time zone
-- (crm.operators.time_zone), whatever the session's TimeZone. Every date that decides a state (a
-- customer's first day, whether a service starts now or is ordered, the orders and service dates
-- that are due, a number series' year) comes from crm.business_date; the web client and the agents
-- set their sessions' TimeZone to crm.business_zone() as well, so `current_date` and the times they
-- show agree with it.

create or replace function crm.checked_time_zone(p_zone text)
returns text
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Full IANA names only (Europe/Prague, UTC), not abbreviations or POSIX offsets such as 'CET' or
-- 'UTC+1', whose meaning PostgreSQL guesses.
begin
  if p_zone is null or not exists (select from pg_catalog.pg_timezone_names z where z.name = p_zone) then
    raise exception 'unknown time zone: % (give a name such as Europe/Prague)', coalesce(p_zone, 'none')
      using errcode = 'MG001', column = 'time_zone';
  end if;
  return p_zone;
end;
$$;
comment on function crm.checked_time_zone(text) is 'A time zone name, checked: an IANA name PostgreSQL knows.';
revoke all on function crm.checked_time_zone(text) from public;
grant execute on function crm.checked_time_zone(text) to mango_admin;

-- Every role that dates something reads the zones (a zone is no secret): the columns an operator's
-- zone needs, granted to the roles that do not read crm.operators whole.
grant select (id, time_zone, active) on crm.operators to mango_flow, mango_agent, mango_customer, mango_partner;
drop policy if exists zones_select_all on crm.operators;
create policy zones_select_all on crm.operators for select
to mango_agent_monitor, mango_customer, mango_partner using (true);

create or replace function crm.business_zone(p_operator_id bigint default null)
returns text
language sql stable security invoker
as $$
  -- [inlined]: no `set search_path`, so that the planner inlines it (the card and the date
  -- defaults of crm.current_tariff and catalog.service_price call it for every row; a function
  -- with a SET clause is planned on every call: 0.25 ms each, ten times the card's own work).
  -- Without an operator (or an unknown one): the zone of the installation's first operator (the
  -- oldest active one), and the column's default before any operator exists.
  select coalesce(
    (select o.time_zone from crm.operators o where o.id = p_operator_id),
    (select o.time_zone from crm.operators o order by not o.active, o.id limit 1),
    'Europe/Prague');
$$;
comment on function crm.business_zone(bigint) is
'The time zone of an operator''s business day; without one, the installation''s default zone. [inlined]';
revoke all on function crm.business_zone(bigint) from public;
grant execute on function crm.business_zone(bigint)
to mango_office, mango_agent, mango_customer, mango_partner, mango_flow;

create or replace function crm.business_date(p_operator_id bigint default null, p_at timestamptz default now())
returns date
language sql stable security invoker
as $$
  -- [inlined]: see crm.business_zone. The one "today" of the application: the date at a moment
  -- (now) in the operator's zone.
  select (p_at at time zone crm.business_zone(p_operator_id))::date;
$$;
create or replace function crm.session_zone()
returns text
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: the web client's and the agents' sessions set their TimeZone to it when they connect;
  -- the web client's own login reads no table.
  select crm.business_zone();
$$;
comment on function crm.session_zone() is 'The default business zone, for a session''s TimeZone.';
revoke all on function crm.session_zone() from public;
grant execute on function crm.session_zone() to mango_web, mango_agent;

comment on function crm.business_date(bigint, timestamptz) is
'The business date of an operator at a moment (today by default); without an operator, of the default zone. [inlined]';
revoke all on function crm.business_date(bigint, timestamptz) from public;
grant execute on function crm.business_date(bigint, timestamptz)
to mango_office, mango_agent, mango_customer, mango_partner, mango_flow;

create or replace function crm.business_day_start(p_at timestamptz default now())
returns timestamptz
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: see crm.business_zone. The latest midnight among the active operators' zones (of the
  -- default zone without any): a daily job submitted since then runs on every operator's today.
  select coalesce(max(date_trunc('day', p_at, o.time_zone)), date_trunc('day', p_at, crm.business_zone()))
    from crm.operators o
   where o.active;
$$;
comment on function crm.business_day_start(timestamptz) is
'When the latest business day began: the last midnight of any active operator''s zone.';
revoke all on function crm.business_day_start(timestamptz) from public;
grant execute on function crm.business_day_start(timestamptz) to mango_office, mango_agent;

create or replace function crm.earliest_business_date(p_at timestamptz default now())
returns date
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: see crm.business_zone. A date applied to every operator at once (a daily job's
  -- `today`) may not be later than this, or it would be the future for some of them.
  select coalesce(min((p_at at time zone o.time_zone)::date), crm.business_date(null, p_at))
    from crm.operators o
   where o.active;
$$;
comment on function crm.earliest_business_date(timestamptz) is
'The earliest business date of the active operators at a moment: today for all of them.';
revoke all on function crm.earliest_business_date(timestamptz) from public;
grant execute on function crm.earliest_business_date(timestamptz) to mango_office, mango_agent;
