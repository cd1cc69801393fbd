-- 0008 hardening: the staff roles as data, throttling by client address. Frozen once merged.

-- The staff roles, the one list the database, the set-up and the web client read. The set-up makes
-- a group role mango_<name> for each (db/bootstrap.py ensure_staff_groups); auth.role_for builds
-- the database role of a user's set of roles from these names only.
create table auth.staff_roles (
    name text primary key check (name ~ '^[a-z]{2,20}$'),
    position integer not null unique,
    description text not null,
    -- Reads the business data (customers, catalogue, network) as a member of mango_office.
    office boolean not null default false,
    -- An administrator holds this role too.
    held_by_admin boolean not null default false,
    -- Who may give or take this role: holders of one of these roles (never themselves for a role
    -- that administrators do not hold: that needs a second person).
    granted_by text[] not null default '{admin}'
);
comment on table auth.staff_roles is
'The staff roles users hold, what each implies and who may give it. [not audited: platform setting]';

insert into auth.staff_roles (name, position, description, office, held_by_admin, granted_by) values
(
    'admin', 1, 'Administrator: users, operators, catalogue and settings; holds every office role.', true, false,
    '{admin}'
),
('billing', 2, 'Billing: charges, documents, payments, bank accounts.', true, true, '{admin}'),
('support', 3, 'Support and call centre: customers, services, contacts.', true, true, '{admin}'),
('technician', 4, 'Technician: devices, network, stores.', true, true, '{admin}'),
('sales', 5, 'Sales: customers, orders, discounts.', true, true, '{admin}'),
('report', 6, 'Reporting: reads the report views only.', false, true, '{admin}'),
(
    'flow', 7, 'Data-retention officer: lawful requests, flow records and NAT logs.', false, false,
    '{flow,supervisor}'
),
(
    'supervisor', 8, 'Retention supervisor: gives and takes the officer role, which administrators cannot.', false,
    false, '{supervisor}'
);

alter table auth.users enable row level security;
alter table auth.staff_roles enable row level security;

-- The roles of a user are checked against auth.staff_roles by a trigger (procedures/10_auth), not
-- by a list written into a check constraint.
alter table auth.users drop constraint if exists users_roles_check;

-- Throttling by client address: the failures of one address over many user names.
create index if not exists login_attempts_ip_idx on auth.login_attempts (ip, attempted_at desc)
where not success;

-- An attempt refused by throttling is recorded, but does not count as a wrong password of its user
-- (so that an attacker's refused attempts do not keep the user's delay growing).
alter table auth.login_attempts add column if not exists throttled boolean not null default false;
