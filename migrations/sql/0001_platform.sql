-- 0001 platform: schemas, identity, sessions, audit, the bus, jobs, operators, number series.
-- Frozen once merged. Functions, views, triggers, policies and grants live in procedures/.

create schema if not exists auth;
create schema if not exists bus;
create schema if not exists audit;
create schema if not exists crm;
create schema if not exists catalog;
create schema if not exists billing;
create schema if not exists payment;
create schema if not exists doc;
create schema if not exists net;
create schema if not exists mon;
create schema if not exists prov;
create schema if not exists flow;
create schema if not exists desk;
create schema if not exists process;
create schema if not exists report;

comment on schema auth is 'Staff users, sessions and the identity functions that RLS policies call.';
comment on schema bus is 'The outbox that wakes agents, dead letters and background jobs.';
comment on schema audit is 'Change history of every business table.';
comment on schema crm is 'Operators, customers, contacts, delivery places and contracts.';
comment on schema catalog is 'Products, services, tariffs, bundles and orders.';
comment on schema billing is 'Charges, invoices, rating and prepaid credit.';
comment on schema payment is 'Bank accounts, cash desks, statements, pairing, SIPO and dunning.';
comment on schema doc is 'Document templates and the immutable archive.';
comment on schema net is 'Devices, topology, IPAM and stores.';
comment on schema mon is 'Monitoring state and samples.';
comment on schema prov is 'Provisioning and configuration backup.';
comment on schema flow is 'NetFlow records and lawful data retention.';
comment on schema desk is 'Tickets and calls.';
comment on schema process is 'Process engine and automation.';
comment on schema report is 'Stable views for outside reporting tools.';

-- ---------------------------------------------------------------------------------------------
-- auth

create table auth.users (
    id bigint generated always as identity primary key,
    username citext not null unique check (username ~ '^[a-z0-9][a-z0-9._@-]{1,62}$'),
    full_name text not null check (length(btrim(full_name)) > 0),
    email citext check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    language text not null default 'cs' check (language in ('cs', 'en')),
    roles text[] not null default '{}' check (
        roles <@ array['admin', 'billing', 'support', 'technician', 'sales', 'report']::text[]
    ),
    db_role text not null,
    password_hash text not null,
    password_changed_at timestamptz not null default now(),
    active boolean not null default true,
    last_login_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table auth.users is 'Staff users: login name, roles and language; passwords hashed with bcrypt.';

create table auth.sessions (
    id bigint generated always as identity primary key,
    token_hash bytea not null unique,
    csrf_token text not null,
    user_id bigint not null references auth.users (id) on delete cascade,
    ip inet,
    user_agent text,
    created_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    expires_at timestamptz not null,
    ended_at timestamptz
);
create index sessions_user_idx on auth.sessions (user_id);
comment on table auth.sessions is
'Web sessions of staff users: only a hash of the token is kept. [not audited: login traffic]';

create table auth.login_attempts (
    id bigint generated always as identity primary key,
    username citext not null,
    ip inet,
    success boolean not null,
    attempted_at timestamptz not null default now()
);
create index login_attempts_username_idx on auth.login_attempts (username, attempted_at desc);
comment on table auth.login_attempts is
'Every login attempt, for throttling and for the security log. [not audited: login traffic]';

create table auth.settings (
    key text primary key,
    value jsonb not null,
    description text
);
comment on table auth.settings is
'Security settings: session lifetime, throttling limits, password rules. [not audited: platform setting]';

-- ---------------------------------------------------------------------------------------------
-- audit

create table audit.records (
    id bigint generated always as identity primary key,
    changed_at timestamptz not null default clock_timestamp(),
    txid bigint not null default txid_current(),
    table_schema text not null,
    table_name text not null,
    record_id text,
    operation text not null check (operation in ('insert', 'update', 'delete')),
    old_values jsonb,
    new_values jsonb,
    db_role text not null,
    user_id bigint
);
create index records_record_idx on audit.records (table_schema, table_name, record_id, id);
create index records_changed_at_idx on audit.records using brin (changed_at);
create index records_user_idx on audit.records (user_id, id) where user_id is not null;
comment on table audit.records is
'One row per inserted, updated or deleted business row: old and new values, role and user.';

-- ---------------------------------------------------------------------------------------------
-- bus

create table bus.events (
    id bigint generated always as identity primary key,
    topic text not null,
    entity text not null,
    revision integer not null default 1,
    payload jsonb not null default '{}',
    attempts integer not null default 0,
    available_at timestamptz not null default now(),
    lease_until timestamptz,
    claimed_by text,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default clock_timestamp(),
    unique (topic, entity)
);
create index events_topic_idx on bus.events (topic, id);
comment on table bus.events is
'The outbox: one row per topic and entity waiting for an agent, coalesced with a revision. [not audited: queue]';

create table bus.dead_events (
    id bigint primary key,
    topic text not null,
    entity text not null,
    revision integer not null,
    payload jsonb not null,
    attempts integer not null,
    last_error text,
    created_at timestamptz not null,
    died_at timestamptz not null default now()
);
comment on table bus.dead_events is
'Events that failed too often, parked for a person to look at and retry. [not audited: queue]';

create table bus.agents (
    name text not null,
    instance text not null,
    host text,
    pid integer,
    topics text[] not null default '{}',
    started_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    handled bigint not null default 0,
    failed bigint not null default 0,
    primary key (name, instance)
);
comment on table bus.agents is 'Heartbeat of every running agent process. [not audited: status]';

create table bus.jobs (
    id bigint generated always as identity primary key,
    kind text not null,
    title text not null,
    params jsonb not null default '{}',
    financial boolean not null default false,
    state text not null default 'queued'
    check (state in ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress real not null default 0 check (progress between 0 and 1),
    message text,
    result jsonb,
    error text,
    worker text,
    created_by bigint references auth.users (id),
    created_at timestamptz not null default now(),
    started_at timestamptz,
    heartbeat_at timestamptz,
    finished_at timestamptz
);
create index jobs_state_idx on bus.jobs (state, id);
create unique index jobs_one_financial_running on bus.jobs ((true)) where financial and state = 'running';
comment on table bus.jobs is
'Background jobs with progress and result; at most one financial job runs at a time. [not audited: status]';

-- ---------------------------------------------------------------------------------------------
-- operators (PLT-1), number series, bank accounts

create table crm.operators (
    id bigint generated always as identity primary key,
    code text not null unique check (code ~ '^[a-z0-9_-]{2,20}$'),
    name text not null check (length(btrim(name)) > 0),
    ico text,
    dic text,
    vat_payer boolean not null default true,
    street text,
    city text,
    zip text check (zip ~ '^\d{3} ?\d{2}$'),
    country text not null default 'CZ' check (country ~ '^[A-Z]{2}$'),
    email citext,
    phone text,
    web text,
    currency text not null default 'CZK' check (currency ~ '^[A-Z]{3}$'),
    registration text,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table crm.operators is 'Operators (provozovatel) hosted by this install: company data and currency.';

create table crm.number_series (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    kind text not null check (kind ~ '^[a-z_]{2,30}$'),
    format text not null check (format ~ '\{N(:\d+)?\}'),
    yearly boolean not null default true,
    start_value bigint not null default 1 check (start_value >= 0),
    description text,
    unique (operator_id, kind)
);
comment on table crm.number_series is
'Number series per operator and kind (customer, vs, invoice, contract…); yearly ones restart each year.';

create table crm.number_series_counters (
    series_id bigint not null references crm.number_series (id) on delete cascade,
    year integer not null,
    last_value bigint not null,
    primary key (series_id, year)
);
comment on table crm.number_series_counters is
'Last number issued per series and year; incremented in the issuing transaction, so gap-free.';

create table payment.bank_accounts (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    name text not null,
    account_prefix text check (account_prefix ~ '^\d{1,6}$'),
    account_number text not null check (account_number ~ '^\d{2,10}$'),
    bank_code text not null check (bank_code ~ '^\d{4}$'),
    iban text check (iban ~ '^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$'),
    bic text check (bic ~ '^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$'),
    currency text not null default 'CZK' check (currency ~ '^[A-Z]{3}$'),
    is_default boolean not null default false,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index bank_accounts_one_default on payment.bank_accounts (operator_id) where is_default;
create unique index bank_accounts_number_uq on payment.bank_accounts (
    coalesce(account_prefix, ''), account_number, bank_code
);
comment on table payment.bank_accounts is 'Bank accounts of an operator; payments arrive on them.';
