-- 0010 job kinds: job kinds as data, and the operator's time zone (one business day). Frozen once merged.

-- ---------------------------------------------------------------------------------------------
-- job kinds (PLT-4): what may be queued, by whom, with which parameters

create table bus.job_kinds (
    id bigint generated always as identity primary key,
    kind text not null unique check (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' and length(kind) <= 60),
    title text not null check (length(btrim(title)) between 1 and 200),
    description text check (length(description) <= 2000),
    -- Financial jobs never run at the same time as one another (bus.jobs.financial, set from here).
    financial boolean not null default false,
    -- The staff roles whose users may submit it (names of auth.staff_roles, checked by a trigger;
    -- an administrator holds the roles auth.staff_roles says it holds).
    submitted_by text[] not null default '{admin}',
    -- The scheduler agent submits it itself (its periodic runs).
    scheduler boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table bus.job_kinds is
'Kinds of background jobs: title, financial or not, who may submit them, whether the scheduler does.';

create table bus.job_kind_params (
    id bigint generated always as identity primary key,
    kind_id bigint not null references bus.job_kinds (id) on delete cascade,
    name text not null check (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    type text not null check (type in ('integer', 'number', 'text', 'boolean', 'date')),
    required boolean not null default false,
    -- Bounds of a number (finite: NaN and infinities fail these checks).
    minimum numeric check (minimum between -1e15 and 1e15),
    maximum numeric check (maximum between -1e15 and 1e15),
    -- A date that may not be later than the operators' business date today.
    not_after_today boolean not null default false,
    -- The values a text may take.
    choices text[] check (cardinality(choices) > 0),
    description text check (length(description) <= 2000),
    unique (kind_id, name),
    check (type in ('integer', 'number') or (minimum is null and maximum is null)),
    check (minimum is null or maximum is null or minimum <= maximum),
    check (type = 'date' or not not_after_today),
    check (type = 'text' or choices is null)
);
comment on table bus.job_kind_params is
'The parameters a job kind accepts: type, required or not, bounds, allowed values.';

insert into bus.job_kinds (kind, title, financial, submitted_by, scheduler) values
('maintenance.purge_sessions', 'Purge old sessions and login attempts', false, '{admin}', true),
('bus.purge', 'Purge old dead events, finished jobs and silent agents', false, '{admin}', true),
('flow.maintenance', 'Flow records: partitions, closing, summaries, purge', false, '{admin}', true),
('catalog.apply_due_orders', 'Carry out accepted orders whose date has come', true, '{admin,billing}', true),
('crm.apply_due_service_dates', 'Start, end and resume services on their dates', true, '{admin,billing}', true);

insert into bus.job_kind_params (kind_id, name, type, minimum, maximum, not_after_today, description)
select
    k.id,
    p.name,
    p.type,
    p.minimum,
    p.maximum,
    p.not_after_today,
    p.description
from (
    values
    (
        'maintenance.purge_sessions', 'keep_days', 'integer', 1, 3650, false,
        'Delete sessions that ended more than this many days ago (90).'
    ),
    ('bus.purge', 'dead_days', 'integer', 1, 3650, false, 'Delete dead events older than this many days (30).'),
    ('bus.purge', 'job_days', 'integer', 1, 3650, false, 'Delete finished jobs older than this many days (90).'),
    ('bus.purge', 'agent_days', 'integer', 1, 3650, false, 'Forget agents not seen for this many days (7).'),
    ('flow.maintenance', 'days_ahead', 'integer', 0, 366, false, 'Make daily partitions this many days ahead (2).'),
    ('flow.maintenance', 'days_back', 'integer', 0, 366, false, 'Make daily partitions this many days back (1).'),
    (
        'catalog.apply_due_orders', 'today', 'date', null, null, true,
        'Carry out the orders due by this date (to catch up on a missed day); the business date by default.'
    ),
    (
        'crm.apply_due_service_dates', 'today', 'date', null, null, true,
        'Apply the service dates due by this date (to catch up on a missed day); the business date by default.'
    )
) as p (kind, name, type, minimum, maximum, not_after_today, description)
inner join bus.job_kinds as k on p.kind = k.kind;

-- ---------------------------------------------------------------------------------------------
-- one business day: the operator's time zone decides what "today" is

alter table crm.operators add column time_zone text not null default 'Europe/Prague'
check (length(time_zone) between 1 and 60);
comment on column crm.operators.time_zone is
'The operator''s time zone (IANA name): its business date (crm.business_date) is the date there.';

-- A customer's first day and an order's date are the business date of their operator: a trigger
-- and catalog.place_order set them (procedures/), a column default cannot name the operator.
alter table crm.customers alter column created_on drop default;
alter table catalog.orders alter column effective_on drop default;
