-- 0006 customer traffic: daily traffic per customer and service, kept after the raw flows are
-- purged (self-care graphs, FUP); the record of NAT log imports. Frozen once merged. Functions
-- (flow.summarize_customers, the import steps), policies and grants live in
-- procedures/70_flow/10_traffic.sql.
--
-- The customer summary lives in crm, beside the customers who read it (staff, later self-care):
-- reading it needs no access to the flow schema, which stays with officers and the flow agents.

create table crm.customer_traffic (
    day date not null,
    customer_id bigint not null references crm.customers (id),
    service_id bigint not null references crm.services (id),
    bytes_in bigint not null default 0,
    bytes_out bigint not null default 0,
    packets_in bigint not null default 0,
    packets_out bigint not null default 0,
    flows bigint not null default 0,
    primary key (day, customer_id, service_id)
);
create index customer_traffic_customer_idx on crm.customer_traffic (customer_id, day);
create index customer_traffic_service_idx on crm.customer_traffic (service_id, day);
comment on table crm.customer_traffic is
'Traffic per customer, service and UTC day (sampling applied; in = to the customer), attributed to whoever
held each address when each flow started; computed before the day''s flows are purged and kept after.
[not audited: derived]';

create table flow.nat_imports (
    id bigint generated always as identity primary key,
    file_name text not null,
    sha256 bytea not null unique check (octet_length(sha256) = 32),
    format text not null,
    exporter inet,
    lines bigint not null default 0,
    events bigint not null default 0,
    ignored bigint not null default 0,
    rejected bigint not null default 0,
    expired bigint not null default 0,
    first_event timestamptz,
    last_event timestamptz,
    os_user text,
    db_role text not null default session_user,
    imported_at timestamptz not null default now(),
    finished_at timestamptz
);
comment on table flow.nat_imports is
'NAT log files imported into flow.nat_events (one row per file content, by SHA-256: the same file twice
imports nothing): format, line and event counts, who and when. [not audited: is itself a log]';
