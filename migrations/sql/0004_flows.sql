-- 0004 flows: NetFlow/IPFIX flow records, NAT events, retention settings and log, daily traffic
-- summaries and the collector's status. Frozen once merged. Functions (partitions, purge,
-- summaries), policies and grants live in procedures/70_flow/.
--
-- Flow records and NAT events are high-volume tables written by the collector with binary COPY:
-- no triggers, no NOTIFY, no audit. Both are partitioned by range on their time column, one
-- partition per UTC day (flow.create_partitions makes them ahead of time, flow.purge drops whole
-- partitions past the retention period). A default partition catches records whose exporter clock
-- is far off, so that no received record is ever refused; create_partitions moves such rows into
-- the day's partition when it is made.
--
-- Index design (measured in bench/flows.py): a B-tree on an address costs more than half of the
-- COPY rate, a BRIN on the start time little. So every partition carries a BRIN on flow_start
-- while it is being written (today); when a day is over, flow.close_partitions builds B-trees on
-- (src_addr, flow_start) and (dst_addr, flow_start) on that day's partition, once, without slowing
-- ingest. A lawful lookup ("flows of address X in hour H") then uses the B-trees on every closed
-- day and the BRIN (one hour of blocks) on the open day.

create table flow.flows (
    exporter inet not null,
    observation_domain bigint not null default 0,
    flow_start timestamptz not null,
    flow_end timestamptz not null,
    src_addr inet not null,
    dst_addr inet not null,
    src_port integer,
    dst_port integer,
    protocol smallint,
    tcp_flags smallint,
    bytes bigint,
    packets bigint,
    in_if bigint,
    out_if bigint,
    sampling integer not null default 1
) partition by range (flow_start);
comment on table flow.flows is
'Flow records from NetFlow v5/v9 and IPFIX exporters, one partition per UTC day (bytes and packets as
sent; multiply by sampling for an estimate of the real traffic). [not audited: high volume]';

create table flow.flows_default partition of flow.flows default;
comment on table flow.flows_default is
'Flow records whose start lies outside every daily partition (an exporter clock far off). [not audited: high volume]';

create index flows_start_brin on flow.flows using brin (flow_start) with (pages_per_range = 32);

create table flow.nat_events (
    exporter inet not null,
    observation_domain bigint not null default 0,
    event_time timestamptz not null,
    nat_event smallint,
    protocol smallint,
    src_addr inet,
    src_port integer,
    dst_addr inet,
    dst_port integer,
    post_src_addr inet,
    post_src_port integer,
    post_dst_addr inet,
    post_dst_port integer,
    port_range_start integer,
    port_range_end integer,
    vrf_id bigint
) partition by range (event_time);
comment on table flow.nat_events is
'NAT translation events (NetFlow v9 NEL, IPFIX natEvent): private address and port, public address and
port or port block, event time; one partition per UTC day. [not audited: high volume]';

create table flow.nat_events_default partition of flow.nat_events default;
comment on table flow.nat_events_default is
'NAT events whose time lies outside every daily partition. [not audited: high volume]';

create index nat_events_time_brin on flow.nat_events using brin (event_time) with (pages_per_range = 32);

create table flow.settings (
    key text primary key,
    value jsonb not null,
    description text not null
);
comment on table flow.settings is
'Data retention settings: retention period, customer networks for the daily summaries.
[not audited: setting, changes go to flow.retention_log]';

insert into flow.settings (key, value, description) values
('retention', '"6 months"', 'How long flow records and NAT events are kept (§ 97 odst. 3 zákona 127/2005 Sb.).'),
('customer_networks', '[]', 'Networks whose addresses get daily traffic summaries; empty: every address seen.');

create table flow.retention_log (
    id bigint generated always as identity primary key,
    logged_at timestamptz not null default now(),
    kind text not null check (kind in ('setting', 'partition', 'index', 'summary', 'purge')),
    retention interval,
    day date,
    relation text,
    row_count bigint,
    db_role text not null default current_user,
    detail text
);
create index retention_log_day_idx on flow.retention_log (kind, day);
comment on table flow.retention_log is
'Every retention action: periods set, partitions made and closed, days summarised and purged.
[not audited: is itself a log]';

create table flow.daily_traffic (
    day date not null,
    address inet not null,
    bytes_in bigint not null default 0,
    bytes_out bigint not null default 0,
    packets_in bigint not null default 0,
    packets_out bigint not null default 0,
    flows bigint not null default 0,
    primary key (day, address)
);
comment on table flow.daily_traffic is
'Traffic per address and UTC day (sampling applied), computed before the day''s flows are purged.
[not audited: derived]';

create table flow.collector_status (
    collector text not null,
    exporter inet not null,
    observation_domain bigint not null default 0,
    received bigint not null default 0,
    stored bigint not null default 0,
    dropped bigint not null default 0,
    malformed bigint not null default 0,
    spooled bigint not null default 0,
    sampling_interval integer not null default 1,
    last_seen timestamptz,
    updated_at timestamptz not null default now(),
    primary key (collector, exporter, observation_domain)
);
comment on table flow.collector_status is
'Counters per collector and exporter (flows received, stored, dropped, spooled; malformed datagrams).
[not audited: status]';
