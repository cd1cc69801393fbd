-- 0005 lawful requests (DR-4): the cases an authorised officer handles, the queries run for a case,
-- the answer of each query kept as a snapshot, and every export handed over. Frozen once merged.
-- Functions, policies and grants live in procedures/70_flow/20_lawful.sql.
--
-- A query's answer is copied into flow.lawful_results when it runs: the hand-over can be exported
-- again exactly as answered, also after the raw flows and NAT events have been purged.

-- The officer role: a staff user may hold 'flow' (auth.role_for grants mango_flow for it).
alter table auth.users drop constraint users_roles_check;
alter table auth.users add constraint users_roles_check check (
    roles <@ array['admin', 'billing', 'support', 'technician', 'sales', 'report', 'flow']::text[]
);

create table flow.lawful_cases (
    id bigint generated always as identity primary key,
    reference text not null check (btrim(reference) <> ''),
    requesting_body text not null check (btrim(requesting_body) <> ''),
    legal_basis text not null check (btrim(legal_basis) <> ''),
    officer_id bigint not null references auth.users (id),
    received_on date not null,
    deadline date,
    state text not null default 'open' check (state in ('open', 'closed')),
    outcome text check (outcome in ('answered', 'refused', 'withdrawn')),
    closed_at timestamptz,
    note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (deadline is null or deadline >= received_on),
    check ((state = 'closed') = (closed_at is not null)),
    check ((state = 'closed') = (outcome is not null))
);
create index lawful_cases_state_idx on flow.lawful_cases (state, received_on desc);
comment on table flow.lawful_cases is
'Lawful requests for retained traffic data: case reference, requesting body, legal basis, the officer who
handles it, received date, deadline, state and outcome.';

create table flow.lawful_queries (
    id bigint generated always as identity primary key,
    case_id bigint not null references flow.lawful_cases (id),
    kind text not null check (kind in ('address', 'customer')),
    address inet,
    port integer check (port between 0 and 65535),
    customer_id bigint references crm.customers (id),
    period tstzrange not null check (not isempty(period) and not lower_inf(period) and not upper_inf(period)),
    flow_limit integer not null check (flow_limit between 1 and 1000000),
    run_by bigint not null references auth.users (id),
    run_at timestamptz not null default now(),
    retention interval not null,
    retained_from timestamptz not null,
    subscriber_rows integer not null default 0,
    nat_rows integer not null default 0,
    flow_rows integer not null default 0,
    flows_truncated boolean not null default false,
    check ((kind = 'address') = (address is not null)),
    check ((kind = 'customer') = (customer_id is not null)),
    check (kind = 'address' or port is null)
);
create index lawful_queries_case_idx on flow.lawful_queries (case_id, id);
comment on table flow.lawful_queries is
'Every query run for a lawful case: by address (and port) and time window or by customer and period, who ran
it and when, the retention period then and how many rows it answered.';

create table flow.lawful_results (
    query_id bigint not null references flow.lawful_queries (id),
    part text not null check (part in ('subscribers', 'flows')),
    position integer not null,
    data jsonb not null,
    primary key (query_id, part, position)
);
comment on table flow.lawful_results is
'The answer of a lawful query as it was given (subscriber and NAT rows, flow records), kept so the hand-over
can be exported again unchanged. [not audited: snapshot written once with its query, which is audited]';

create table flow.lawful_exports (
    id bigint generated always as identity primary key,
    query_id bigint not null references flow.lawful_queries (id),
    part text not null check (part in ('subscribers', 'flows')),
    format text not null default 'csv' check (format in ('csv')),
    row_count integer not null,
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    exported_by bigint not null references auth.users (id),
    exported_at timestamptz not null default now()
);
create index lawful_exports_query_idx on flow.lawful_exports (query_id, id);
comment on table flow.lawful_exports is
'Every export of a lawful query''s answer: which part, format, rows, SHA-256 of the file, who and when.';

insert into flow.settings (key, value, description) values
(
    'nat_lookaround', '"7 days"',
    'How far before and after a requested period NAT create and delete events are looked for, so that a '
    || 'translation that began before the period (or ended after it) is found.'
)
on conflict (key) do nothing;
