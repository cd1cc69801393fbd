-- Traffic per customer and day (kept after the raw flows are purged: self-care graphs, FUP), the
-- days still to summarise, and the steps of a NAT log import (`mango nat import`); row-level
-- security and grants of those tables.
--
-- Attribution: a flow's bytes go to the service that held the flow's address (or the delegated
-- prefix containing it) when the flow started, and to the customer who held that service on that
-- (business) day. Flows are grouped by address and UTC hour; an hour within which an address changed
-- hands is split flow by flow, so the attribution is exact to the flow's start time.

create or replace function flow.summarize_customers(p_day date)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: summaries are written only here (the scheduler runs it daily, flow.purge before it drops
-- a day); it reads the IP history and the service owners, which officers and agents cannot all read.
declare
  v_from timestamptz := p_day::timestamp at time zone 'UTC';
  v_to timestamptz := (p_day + 1)::timestamp at time zone 'UTC';
  v_lens4 integer[];
  v_lens6 integer[];
  v_rows bigint;
begin
  if p_day is null then
    raise exception 'which day?' using errcode = 'MG710';
  end if;
  if flow.flows_purged(p_day) then
    raise exception 'the flows of % were purged after the retention period; its customer summary is kept as it is',
                    p_day using errcode = 'MG711';
  end if;
  -- The prefix lengths of the day's service addresses (/32, a /29 block, /56 and /64 prefixes …):
  -- a flow's address is looked up once per length of its family.
  select coalesce(array_agg(distinct masklen(a.address)) filter (where family(a.address) = 4), '{}'),
         coalesce(array_agg(distinct masklen(a.address)) filter (where family(a.address) = 6), '{}')
    into v_lens4, v_lens6
    from net.ip_assignments a
   where a.service_id is not null and a.valid && tstzrange(v_from, v_to);
  delete from crm.customer_traffic where day = p_day;
  insert into crm.customer_traffic (day, customer_id, service_id, bytes_in, bytes_out, packets_in, packets_out, flows)
  with held as materialized (
    -- Service addresses held at some time of the day, as networks: a host is a /32 (/128) network,
    -- a delegated prefix its own. Assignments never overlap in time (exclusion constraint).
    select network(a.address) as net, masklen(a.address) as len, a.service_id, a.valid * tstzrange(v_from, v_to) as valid
      from net.ip_assignments a
     where a.service_id is not null and a.valid && tstzrange(v_from, v_to)
  ), per_hour as materialized (
    -- The day's flows of held addresses, per address, prefix length, UTC hour, in and out. The
    -- semi-join on (length, network) is a hash join: one probe per flow end and prefix length.
    select v.address, l.len, date_trunc('hour', f.flow_start, 'UTC') as hour,
           sum(case when v.inbound then f.bytes * f.sampling else 0 end)::bigint as bytes_in,
           sum(case when v.inbound then 0 else f.bytes * f.sampling end)::bigint as bytes_out,
           sum(case when v.inbound then f.packets * f.sampling else 0 end)::bigint as packets_in,
           sum(case when v.inbound then 0 else f.packets * f.sampling end)::bigint as packets_out,
           count(*) as flows
      from flow.flows f
     cross join lateral (values (f.dst_addr, true), (f.src_addr, false)) as v (address, inbound)
     cross join lateral unnest(case family(v.address) when 4 then v_lens4 else v_lens6 end) as l (len)
     where f.flow_start >= v_from and f.flow_start < v_to
       and exists (select from held h where h.len = l.len and h.net = network(set_masklen(v.address, l.len)))
     group by v.address, l.len, date_trunc('hour', f.flow_start, 'UTC')
  ), holdings as materialized (
    -- Who held each address during each hour; "whole" when one holder held it all the hour.
    select p.address, p.hour, p.bytes_in, p.bytes_out, p.packets_in, p.packets_out, p.flows, h.service_id,
           h.valid, h.valid @> tstzrange(p.hour, p.hour + interval '1 hour') as whole
      from per_hour p
      join held h on h.len = p.len and h.net = network(set_masklen(p.address, p.len))
                 and h.valid && tstzrange(p.hour, p.hour + interval '1 hour')
  ), attributed as (
    select w.service_id, w.hour, w.bytes_in, w.bytes_out, w.packets_in, w.packets_out, w.flows
      from holdings w
     where w.whole
    union all
    -- The address changed hands within the hour: each flow goes to the holder when it started
    -- (the address B-trees of the closed day find the hour's flows).
    select s.service_id, s.hour, f.bytes * f.sampling, 0, f.packets * f.sampling, 0, 1
      from holdings s
      join flow.flows f on f.dst_addr = s.address
                       and f.flow_start >= s.hour and f.flow_start < s.hour + interval '1 hour'
                       and s.valid @> f.flow_start
     where not s.whole and f.flow_start >= v_from and f.flow_start < v_to
    union all
    select s.service_id, s.hour, 0, f.bytes * f.sampling, 0, f.packets * f.sampling, 1
      from holdings s
      join flow.flows f on f.src_addr = s.address
                       and f.flow_start >= s.hour and f.flow_start < s.hour + interval '1 hour'
                       and s.valid @> f.flow_start
     where not s.whole and f.flow_start >= v_from and f.flow_start < v_to
  ), per_service as (
    -- Services move between customers at the start of a business day, which is a whole UTC hour.
    select a.service_id, (a.hour at time zone (select crm.business_zone()))::date as prague_day,
           sum(a.bytes_in) as bytes_in, sum(a.bytes_out) as bytes_out,
           sum(a.packets_in) as packets_in, sum(a.packets_out) as packets_out, sum(a.flows) as flows
      from attributed a
     group by a.service_id, (a.hour at time zone (select crm.business_zone()))::date
  )
  select p_day, o.customer_id, s.service_id, sum(s.bytes_in), sum(s.bytes_out), sum(s.packets_in),
         sum(s.packets_out), sum(s.flows)
    from per_service s
    join crm.service_owners o on o.service_id = s.service_id and o.held @> s.prague_day
   group by o.customer_id, s.service_id;
  get diagnostics v_rows = row_count;
  insert into flow.retention_log (kind, day, relation, row_count, db_role, detail)
  values ('summary', p_day, 'crm.customer_traffic', v_rows, session_user, 'daily traffic per customer and service');
  return v_rows;
end;
$$;
comment on function flow.summarize_customers(date) is
'Compute the traffic per customer and service of one UTC day into crm.customer_traffic (replacing it), each
flow attributed to whoever held its address when it started; refused once the day''s flows are purged.';
revoke all on function flow.summarize_customers(date) from public;
grant execute on function flow.summarize_customers(date) to mango_agent_scheduler, mango_admin;

create or replace function flow.days_to_summarize(p_before date default null)
returns table (day date, addresses boolean, customers boolean)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- Closed days (before p_before, default today UTC) whose flows are still kept and that lack the
  -- summary per address (flow.daily_traffic) or per customer (crm.customer_traffic).
  select x.day, x.addresses, x.customers
    from (
      select p.day,
             not flow.has_summary(p.day, 'flow.daily_traffic') as addresses,
             not flow.has_summary(p.day, 'crm.customer_traffic') as customers
        from flow.partitions() p
       where p.parent = 'flows' and p.closed
         and p.day < coalesce(p_before, (now() at time zone 'UTC')::date)
    ) x
   where x.addresses or x.customers
   order by x.day;
$$;
comment on function flow.days_to_summarize(date) is
'The closed days of kept flows still missing their summary per address or per customer.';
revoke all on function flow.days_to_summarize(date) from public;
grant execute on function flow.days_to_summarize(date) to mango_agent_scheduler, mango_admin;

-- ---------------------------------------------------------------------------------------------
-- NAT log imports: `mango nat import` calls begin, COPYs the events into flow.nat_events, makes the
-- partitions of the days they fall on and calls finish, all in one transaction; a file whose
-- content (SHA-256) was imported before imports nothing.

create or replace function flow.begin_nat_import(
    p_file_name text, p_sha256 bytea, p_format text, p_exporter inet default null, p_os_user text default null
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: the import log is written only through these functions. Returns null when a file with
-- the same content was imported before (a concurrent import of it waits here for the first to end).
declare
  v_id bigint;
begin
  if p_format is null or p_format not in ('conntrack', 'asa', 'juniper', 'mikrotik') then
    raise exception 'unknown NAT log format % (known: conntrack, asa, juniper, mikrotik)', p_format
      using errcode = 'MG712';
  end if;
  if p_sha256 is null or octet_length(p_sha256) <> 32 then
    raise exception 'the file''s SHA-256 must be 32 bytes' using errcode = 'MG712';
  end if;
  insert into flow.nat_imports (file_name, sha256, format, exporter, os_user, db_role)
  values (p_file_name, p_sha256, p_format, p_exporter, p_os_user, session_user)
  on conflict (sha256) do nothing
  returning id into v_id;
  return v_id;
end;
$$;
comment on function flow.begin_nat_import(text, bytea, text, inet, text) is
'Record the start of a NAT log import; null when the same file content was imported before.';
revoke all on function flow.begin_nat_import(text, bytea, text, inet, text) from public;
grant execute on function flow.begin_nat_import(text, bytea, text, inet, text)
to mango_admin;

create or replace function flow.finish_nat_import(
    p_import_id bigint, p_lines bigint, p_events bigint, p_ignored bigint, p_rejected bigint, p_expired bigint,
    p_first_event timestamptz, p_last_event timestamptz
)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see flow.begin_nat_import.
begin
  update flow.nat_imports
     set lines = p_lines, events = p_events, ignored = p_ignored, rejected = p_rejected, expired = p_expired,
         first_event = p_first_event, last_event = p_last_event, finished_at = now()
   where id = p_import_id and finished_at is null;
  if not found then
    raise exception 'NAT import % does not exist or is already finished', p_import_id using errcode = 'MG713';
  end if;
end;
$$;
comment on function flow.finish_nat_import(bigint, bigint, bigint, bigint, bigint, bigint, timestamptz, timestamptz) is
'Record the counts of a NAT log import (same transaction as its events).';
revoke all on function flow.finish_nat_import(bigint, bigint, bigint, bigint, bigint, bigint, timestamptz, timestamptz)
from public;
grant execute on function flow.finish_nat_import(
    bigint, bigint, bigint, bigint, bigint, bigint, timestamptz, timestamptz
) to mango_admin;

-- ---------------------------------------------------------------------------------------------
-- Row-level security and grants of the NAT log imports (crm.customer_traffic's are in
-- procedures/40_crm/70_customer_traffic.sql).

alter table flow.nat_imports enable row level security;

drop policy if exists readers_select_all on flow.nat_imports;
create policy readers_select_all on flow.nat_imports for select
to mango_staff using ((select auth.may('flow') or auth.may('admin')));
drop policy if exists agents_select_all on flow.nat_imports;
create policy agents_select_all on flow.nat_imports for select
to mango_agent_scheduler using (true);

revoke all on flow.nat_imports from public;
grant select on flow.nat_imports to mango_flow, mango_admin, mango_agent_scheduler;
