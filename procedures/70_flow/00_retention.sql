-- Flow records and NAT events: daily partitions, closing a day (B-tree indexes), daily traffic
-- summaries, purge after the retention period; row-level security and grants.
--
-- Days are UTC days: every partition covers exactly 24 hours, also on the days clocks change.

create or replace function flow.retention()
returns interval
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select coalesce((select (s.value #>> '{}')::interval from flow.settings s where s.key = 'retention'),
                  interval '6 months');
$$;
comment on function flow.retention() is 'The retention period of flow records and NAT events (a flow.settings row).';
revoke all on function flow.retention() from public;
grant execute on function flow.retention() to mango_flow, mango_agent_scheduler, mango_agent_flowcollector, mango_admin;

create or replace function flow.retention_bounds()
returns table (minimum interval, legal_minimum interval, maximum interval)
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The law (§ 97 odst. 3 zákona 127/2005 Sb.) asks for six months; less needs a confirmation
  -- (flow.set_retention). Ten years is far beyond any request and keeps the partitions bounded.
  select interval '1 day', interval '6 months', interval '10 years';
$$;
comment on function flow.retention_bounds() is
'The shortest, the legally required and the longest retention period of flow records.';
revoke all on function flow.retention_bounds() from public;
grant execute on function flow.retention_bounds() to mango_admin, mango_flow;

insert into flow.settings (key, value, description)
values (
    'stale_exporter_minutes', '15',
    'An exporter that sent nothing for this long is shown as stale (exporters send every minute or so).'
)
on conflict (key) do nothing;

create or replace function flow.stale_after()
returns interval
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: reads flow.settings for the retention page of administrators and officers.
  select make_interval(mins => coalesce((select (value #>> '{}')::integer from flow.settings
                                           where key = 'stale_exporter_minutes'), 15));
$$;
comment on function flow.stale_after() is 'How long an exporter may be silent before it is shown as stale.';
revoke all on function flow.stale_after() from public;
grant execute on function flow.stale_after() to mango_admin, mango_flow;

create or replace function flow.period_text(p_period interval)
returns text
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- '6 months', '1 year 2 months', '10 days' (PostgreSQL itself writes '6 mons').
  select coalesce(nullif(concat_ws(' ',
           case when extract(year from p_period) = 1 then '1 year'
                when extract(year from p_period) > 1 then extract(year from p_period) || ' years' end,
           case when extract(month from p_period) = 1 then '1 month'
                when extract(month from p_period) > 1 then extract(month from p_period) || ' months' end,
           case when extract(day from p_period) = 1 then '1 day'
                when extract(day from p_period) > 1 then extract(day from p_period) || ' days' end,
           case when p_period::time <> '00:00' then to_char(p_period, 'HH24:MI:SS') end), ''), 'nothing');
$$;
comment on function flow.period_text(interval) is 'A retention period in words, for messages and the log.';
revoke all on function flow.period_text(interval) from public;

create or replace function flow.set_retention(p_retention interval, p_below_legal_minimum boolean default false)
returns interval
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: the settings and the log are written only through this function, by a signed-in
-- administrator (or the console). A period shorter than the law asks needs p_below_legal_minimum
-- (the form's second confirmation); the log and the audit history of flow.settings, which
-- officers read, record it with the user.
declare
  v_before interval := flow.retention();
  v_minimum interval;
  v_legal_minimum interval;
  v_maximum interval;
  v_user text := (select u.username from auth.users u where u.id = auth.user_id());
begin
  perform auth.require_role('admin');
  select b.minimum, b.legal_minimum, b.maximum into v_minimum, v_legal_minimum, v_maximum
    from flow.retention_bounds() b;
  if p_retention is null or p_retention < v_minimum or p_retention > v_maximum then
    raise exception 'the retention period must be between % and % (got %)', flow.period_text(v_minimum),
      flow.period_text(v_maximum), coalesce(flow.period_text(p_retention), 'nothing')
      using errcode = 'MG701', column = 'retention';
  end if;
  if p_retention < v_legal_minimum and not coalesce(p_below_legal_minimum, false) then
    raise exception 'the law asks for at least %: confirm a shorter period explicitly', flow.period_text(v_legal_minimum)
      using errcode = 'MG702', column = 'confirm';
  end if;
  update flow.settings set value = to_jsonb(p_retention::text) where key = 'retention' and value <> to_jsonb(p_retention::text);
  if not found then
    return p_retention;  -- unchanged: nothing to log
  end if;
  insert into flow.retention_log (kind, retention, db_role, detail)
  values ('setting', p_retention, auth.caller_role(),
          format('retention period set (was %s)', flow.period_text(v_before))
          || case when p_retention < v_legal_minimum
                  then format(', below the legal minimum of %s, confirmed', flow.period_text(v_legal_minimum)) else '' end
          || coalesce(' by ' || v_user, ''));
  return p_retention;
end;
$$;
comment on function flow.set_retention(interval, boolean) is
'Set the retention period of flow records and NAT events (below the legal minimum only confirmed), logged.';
revoke all on function flow.set_retention(interval, boolean) from public;
grant execute on function flow.set_retention(interval, boolean) to mango_admin;

create or replace function flow.partition_day(p_relname text)
returns date
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  select case when p_relname ~ '_p[0-9]{8}$' then to_date(right(p_relname, 8), 'YYYYMMDD') end;
$$;
comment on function flow.partition_day(text) is
'The UTC day a daily partition (name ending in _pYYYYMMDD) holds, else null.';
revoke all on function flow.partition_day(text) from public;
grant execute on function flow.partition_day(text)
to mango_flow, mango_admin, mango_agent_scheduler, mango_agent_flowcollector;

create or replace function flow.partition_name(p_parent text, p_day date)
returns text
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  select p_parent || '_p' || to_char(p_day, 'YYYYMMDD');
$$;
comment on function flow.partition_name(text, date) is
'The name of the daily partition of flow.flows or flow.nat_events (p_parent) for a UTC day (see flow.partition_day).';
revoke all on function flow.partition_name(text, date) from public;
grant execute on function flow.partition_name(text, date)
to mango_agent_flowcollector, mango_agent_scheduler, mango_admin;

create or replace function flow.partitions()
returns table (parent text, relname text, day date, row_estimate bigint, closed boolean)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select p.relname::text, c.relname::text, flow.partition_day(c.relname::text), greatest(c.reltuples, 0)::bigint,
         to_regclass('flow.' || c.relname || '_src_idx') is not null
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
    join pg_catalog.pg_class p on p.oid = i.inhparent
    join pg_catalog.pg_namespace n on n.oid = p.relnamespace
   where n.nspname = 'flow' and p.relname in ('flows', 'nat_events')
     and flow.partition_day(c.relname::text) is not null
   order by 1, 3;
$$;
comment on function flow.partitions() is
'The daily partitions of flow.flows and flow.nat_events, their day and whether closed.';
revoke all on function flow.partitions() from public;
grant execute on function flow.partitions()
to mango_flow, mango_agent_scheduler, mango_agent_flowcollector, mango_admin;

create or replace function flow.create_day_partitions(p_parent text, p_days date[])
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: creating partitions is DDL. flow.create_partitions makes the days around today with it,
-- the NAT log import the (past) days of its events. Rows of the day that wait in the default
-- partition move in. Days past the retention period get none (their rows are purged).
declare
  v_day date;
  v_column text;
  v_name text;
  v_from timestamptz;
  v_to timestamptz;
  v_moved bigint;
  v_created integer := 0;
begin
  if p_parent is null or p_parent not in ('flows', 'nat_events') then
    raise exception 'partitions are made for flows or nat_events, not %', p_parent using errcode = 'MG714';
  end if;
  perform pg_advisory_xact_lock(hashtext('flow.create_partitions'));
  v_column := case p_parent when 'flows' then 'flow_start' else 'event_time' end;
  for v_day in
    select distinct d from unnest(p_days) d
     where d is not null and (d + 1)::timestamp at time zone 'UTC' > now() - flow.retention()
     order by d
  loop
    v_name := flow.partition_name(p_parent, v_day);
    continue when to_regclass('flow.' || v_name) is not null;
    v_from := v_day::timestamp at time zone 'UTC';
    v_to := (v_day + 1)::timestamp at time zone 'UTC';
    execute format('create table flow.%I (like flow.%I including defaults including constraints)', v_name, p_parent);
    execute format(
      'with moved as (delete from flow.%I where %I >= $1 and %I < $2 returning *) insert into flow.%I select * from moved',
      p_parent || '_default', v_column, v_column, v_name) using v_from, v_to;
    get diagnostics v_moved = row_count;
    execute format('alter table flow.%I attach partition flow.%I for values from (%L) to (%L)',
                   p_parent, v_name, v_from, v_to);
    execute format('alter table flow.%I enable row level security', v_name);
    execute format('comment on table flow.%I is %L', v_name,
                   format('%s of %s (UTC). [not audited: high volume]', p_parent, v_day));
    insert into flow.retention_log (kind, day, relation, row_count, db_role, detail)
    values ('partition', v_day, 'flow.' || v_name, v_moved, session_user,
            case when v_moved > 0 then 'created; rows moved from the default partition' else 'created' end);
    v_created := v_created + 1;
  end loop;
  return v_created;
end;
$$;
comment on function flow.create_day_partitions(text, date[]) is
'Create the daily partitions of flow.flows or flow.nat_events for given UTC days within the retention period;
returns how many were created.';
revoke all on function flow.create_day_partitions(text, date[]) from public;
grant execute on function flow.create_day_partitions(text, date[]) to mango_admin, mango_agent_flowcollector;

create or replace function flow.create_partitions(p_days_ahead integer default 2, p_days_back integer default 1)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: creating partitions is DDL; the collector and the scheduler call this.
declare
  v_today date := (now() at time zone 'UTC')::date;
  v_days date[];
begin
  if p_days_ahead < 0 or p_days_ahead > 366 or p_days_back < 0 or p_days_back > 366 then
    raise exception 'days ahead and back must be between 0 and 366' using errcode = 'MG702';
  end if;
  v_days := array(select d::date from generate_series(v_today - p_days_back, v_today + p_days_ahead, interval '1 day') d);
  return flow.create_day_partitions('flows', v_days) + flow.create_day_partitions('nat_events', v_days);
end;
$$;
comment on function flow.create_partitions(integer, integer) is
'Create the daily partitions of flow.flows and flow.nat_events from p_days_back days ago to p_days_ahead days
ahead (UTC); returns how many were created.';
revoke all on function flow.create_partitions(integer, integer) from public;
grant execute on function flow.create_partitions(integer, integer)
to mango_agent_flowcollector, mango_agent_scheduler, mango_admin;

create or replace function flow.close_partitions()
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: building indexes is DDL; the scheduler calls this after midnight (UTC).
-- A closed day gets B-trees on the addresses for lawful lookups. The day being written has only
-- its BRIN on time, because a B-tree per address would cost most of the ingest rate.
declare
  v_part record;
  v_closed integer := 0;
begin
  for v_part in
    select p.parent, p.relname, p.day from flow.partitions() p
     where p.day < (now() at time zone 'UTC')::date and not p.closed
     order by p.day
  loop
    if v_part.parent = 'flows' then
      execute format('create index if not exists %I on flow.%I (src_addr, flow_start)',
                     v_part.relname || '_src_idx', v_part.relname);
      execute format('create index if not exists %I on flow.%I (dst_addr, flow_start)',
                     v_part.relname || '_dst_idx', v_part.relname);
    else
      execute format('create index if not exists %I on flow.%I (post_src_addr, event_time)',
                     v_part.relname || '_post_idx', v_part.relname);
      execute format('create index if not exists %I on flow.%I (src_addr, event_time)',
                     v_part.relname || '_src_idx', v_part.relname);
    end if;
    execute format('analyze flow.%I', v_part.relname);
    insert into flow.retention_log (kind, day, relation, db_role, detail)
    values ('index', v_part.day, 'flow.' || v_part.relname, session_user, 'day closed: address indexes built');
    v_closed := v_closed + 1;
  end loop;
  return v_closed;
end;
$$;
comment on function flow.close_partitions() is
'Build the address B-trees of every daily partition whose day is over (UTC); returns how many were closed.';
revoke all on function flow.close_partitions() from public;
grant execute on function flow.close_partitions() to mango_agent_scheduler, mango_admin;

create or replace function flow.has_summary(p_day date, p_relation text)
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select exists (select from flow.retention_log l
                  where l.kind = 'summary' and l.day = p_day and l.relation = p_relation);
$$;
comment on function flow.has_summary(date, text) is
'Whether a UTC day was summarised into p_relation (flow.daily_traffic or crm.customer_traffic).';
revoke all on function flow.has_summary(date, text) from public;
grant execute on function flow.has_summary(date, text) to mango_agent_scheduler, mango_admin;

create or replace function flow.flows_purged(p_day date)
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select exists (select from flow.retention_log l
                  where l.kind = 'purge' and l.relation = 'flow.' || flow.partition_name('flows', p_day));
$$;
comment on function flow.flows_purged(date) is
'Whether the flows of a UTC day were purged after the retention period (then its summaries stay as they are).';
revoke all on function flow.flows_purged(date) from public;
grant execute on function flow.flows_purged(date) to mango_agent_scheduler, mango_admin;

create or replace function flow.summarize_day(p_day date)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: summaries are written only here (the scheduler runs it daily and purge before dropping).
declare
  v_from timestamptz := p_day::timestamp at time zone 'UTC';
  v_to timestamptz := (p_day + 1)::timestamp at time zone 'UTC';
  v_networks inet[];
  v_rows bigint;
begin
  if flow.flows_purged(p_day) then
    raise exception 'the flows of % were purged after the retention period; its summary is kept as it is', p_day
      using errcode = 'MG711';
  end if;
  select coalesce(array_agg(n::inet), '{}')
    into v_networks
    from flow.settings s, jsonb_array_elements_text(s.value) n
   where s.key = 'customer_networks';
  delete from flow.daily_traffic where day = p_day;
  insert into flow.daily_traffic (day, address, bytes_in, bytes_out, packets_in, packets_out, flows)
  select p_day, v.address,
         sum(case when v.inbound then f.bytes * f.sampling else 0 end)::bigint,
         sum(case when v.inbound then 0 else f.bytes * f.sampling end)::bigint,
         sum(case when v.inbound then f.packets * f.sampling else 0 end)::bigint,
         sum(case when v.inbound then 0 else f.packets * f.sampling end)::bigint,
         count(*)
    from flow.flows f
   cross join lateral (values (f.dst_addr, true), (f.src_addr, false)) as v (address, inbound)
   where f.flow_start >= v_from and f.flow_start < v_to
     and (cardinality(v_networks) = 0 or v.address <<= any(v_networks))
   group by v.address;
  get diagnostics v_rows = row_count;
  insert into flow.retention_log (kind, day, relation, row_count, db_role, detail)
  values ('summary', p_day, 'flow.daily_traffic', v_rows, session_user, 'daily traffic per address');
  return v_rows;
end;
$$;
comment on function flow.summarize_day(date) is
'Compute the traffic per address of one UTC day into flow.daily_traffic (replacing it); returns the row count.
Refused once the day''s flows are purged.';
revoke all on function flow.summarize_day(date) from public;
grant execute on function flow.summarize_day(date) to mango_agent_scheduler, mango_admin;

create or replace function flow.purge(p_retention interval default null)
returns table (relation text, day date, row_count bigint)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: dropping partitions is DDL; the scheduler runs this daily.
-- Whole days older than the retention period are dropped: the partition of day D goes when all of
-- D lies before now() - retention. A flows day that was never summarised (per address, per
-- customer) is summarised first, so the summaries outlive the flows.
declare
  v_retention interval := coalesce(p_retention, flow.retention());
  v_cutoff timestamptz := now() - v_retention;
  v_part record;
  v_default record;
  v_rows bigint;
begin
  if v_retention < interval '1 day' then
    raise exception 'the retention period must be at least one day (got %)', v_retention using errcode = 'MG701';
  end if;
  perform pg_advisory_xact_lock(hashtext('flow.create_partitions'));
  for v_part in
    select p.parent, p.relname, p.day from flow.partitions() p
     where (p.day + 1)::timestamp at time zone 'UTC' <= v_cutoff
     order by p.day, p.parent
  loop
    if v_part.parent = 'flows' and not flow.has_summary(v_part.day, 'flow.daily_traffic') then
      perform flow.summarize_day(v_part.day);
    end if;
    -- Per customer too (procedures/70_flow/10_traffic.sql): kept after the flows are gone.
    if v_part.parent = 'flows' and not flow.has_summary(v_part.day, 'crm.customer_traffic') then
      perform flow.summarize_customers(v_part.day);
    end if;
    -- The exact count (not the planner's estimate) is the evidence the log keeps.
    execute format('select count(*) from flow.%I', v_part.relname) into v_rows;
    execute format('drop table flow.%I', v_part.relname);
    insert into flow.retention_log (kind, retention, day, relation, row_count, db_role, detail)
    values ('purge', v_retention, v_part.day, 'flow.' || v_part.relname, v_rows, session_user,
            'partition dropped after the retention period');
    relation := 'flow.' || v_part.relname;
    day := v_part.day;
    row_count := v_rows;
    return next;
  end loop;
  -- Old rows outside every daily partition.
  for v_default in
    select d.relname, d.time_column
      from (values ('flows_default', 'flow_start'), ('nat_events_default', 'event_time')) as d (relname, time_column)
  loop
    execute format('delete from flow.%I where %I < $1', v_default.relname, v_default.time_column) using v_cutoff;
    get diagnostics v_rows = row_count;
    if v_rows > 0 then
      insert into flow.retention_log (kind, retention, relation, row_count, db_role, detail)
      values ('purge', v_retention, 'flow.' || v_default.relname, v_rows, session_user, 'old rows deleted');
      relation := 'flow.' || v_default.relname;
      day := null;
      row_count := v_rows;
      return next;
    end if;
  end loop;
end;
$$;
comment on function flow.purge(interval) is
'Drop the daily partitions of flow records and NAT events older than the retention period (default: the
setting), summarising unsummarised days first (per address and per customer); every drop is logged in
flow.retention_log.';
revoke all on function flow.purge(interval) from public;
grant execute on function flow.purge(interval) to mango_agent_scheduler, mango_admin;

-- ---------------------------------------------------------------------------------------------
-- Row-level security and grants. Flows are personal traffic data: only officers (mango_flow), the
-- collector and the scheduler read them; other staff roles get a permission error. The collector
-- writes with COPY, which PostgreSQL refuses under row-level security, so its login role has
-- BYPASSRLS (see migration 0004); it is granted nothing but the flow tables.

alter table flow.flows enable row level security;
alter table flow.flows_default enable row level security;
alter table flow.nat_events enable row level security;
alter table flow.nat_events_default enable row level security;
alter table flow.settings enable row level security;
alter table flow.retention_log enable row level security;
alter table flow.daily_traffic enable row level security;
alter table flow.collector_status enable row level security;

do $$
declare
  v_table text;
begin
  foreach v_table in array array['flows', 'nat_events', 'settings', 'retention_log', 'daily_traffic', 'collector_status'] loop
    execute format('drop policy if exists readers_select_all on flow.%I', v_table);
    -- Officers only with a live session of a user holding the flow role (auth.may): a role
    -- switched to without a session reads nothing.
    execute format('drop policy if exists officers_select_all on flow.%I', v_table);
    execute format('create policy officers_select_all on flow.%I for select to mango_staff '
                   'using ((select auth.may(''flow'')))', v_table);
    execute format('drop policy if exists agents_select_all on flow.%I', v_table);
    execute format('create policy agents_select_all on flow.%I for select to mango_agent_scheduler using (true)',
                   v_table);
  end loop;
end;
$$;

drop policy if exists mango_agent_flowcollector_all_own on flow.collector_status;
create policy mango_agent_flowcollector_all_own on flow.collector_status
for all to mango_agent_flowcollector using (true) with check (true);

revoke all on flow.flows, flow.flows_default, flow.nat_events, flow.nat_events_default, flow.settings,
flow.retention_log, flow.daily_traffic, flow.collector_status from public;
grant select on flow.flows, flow.nat_events, flow.settings, flow.retention_log, flow.daily_traffic,
flow.collector_status to mango_flow, mango_agent_scheduler;
-- The collector faces the network: it writes flows, NAT events and its status, and reads only the
-- retention setting and its own status (it has BYPASSRLS for COPY, so grants are its only limit).
grant select on flow.settings, flow.collector_status to mango_agent_flowcollector;
grant insert on flow.flows, flow.nat_events to mango_agent_flowcollector;
grant insert, update on flow.collector_status to mango_agent_flowcollector;
