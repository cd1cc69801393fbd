-- 0002 customers, contracts, user-defined parameters, the catalogue, service instances, orders.
-- Frozen once merged. Functions, views, triggers, policies and grants live in procedures/.

-- ---------------------------------------------------------------------------------------------
-- customers (CRM-1, CRM-2, CRM-5)

create table crm.customers (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    customer_no text not null unique,
    vs text not null unique check (vs ~ '^\d{1,10}$'),
    kind text not null default 'person' check (kind in ('person', 'company')),
    first_name text,
    last_name text,
    company_name text,
    ico text,
    dic text,
    birth_date date,
    street text,
    house_no text,
    city text,
    zip text,
    country text not null default 'CZ' check (country ~ '^[A-Z]{2}$'),
    ruian_code bigint,
    parent_id bigint references crm.customers (id),
    language text not null default 'cs' check (language in ('cs', 'en')),
    note text,
    state text not null default 'active' check (state in ('active', 'ended')),
    ended_on date,
    end_reason text,
    created_on date not null default current_date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (
        (kind = 'person' and last_name is not null)
        or (kind = 'company' and company_name is not null)
    ),
    check ((state = 'ended') = (ended_on is not null)),
    check (parent_id <> id)
);
create index customers_parent_idx on crm.customers (parent_id) where parent_id is not null;
create index customers_ico_idx on crm.customers (ico) where ico is not null;
comment on table crm.customers is
'Customers (persons and companies) with customer number, variable symbol, address and state.';

create table crm.contacts (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    kind text not null check (kind in ('email', 'phone', 'billing_email')),
    value text not null,
    label text,
    is_primary boolean not null default false,
    created_at timestamptz not null default now(),
    unique (customer_id, kind, value)
);
create index contacts_value_trgm on crm.contacts using gin (value gin_trgm_ops);
create index contacts_customer_idx on crm.contacts (customer_id);
comment on table crm.contacts is 'E-mails, phones and billing e-mails of a customer.';

create table crm.customer_notes (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    body text not null check (length(btrim(body)) > 0),
    created_by bigint references auth.users (id),
    created_at timestamptz not null default now()
);
create index customer_notes_customer_idx on crm.customer_notes (customer_id, id);
comment on table crm.customer_notes is 'Notes staff write on a customer.';

create table crm.groups (
    id bigint generated always as identity primary key,
    name text not null unique,
    description text
);
comment on table crm.groups is 'Customer groups (e.g. VIP, partners, employees).';

create table crm.customer_groups (
    customer_id bigint not null references crm.customers (id),
    group_id bigint not null references crm.groups (id),
    primary key (customer_id, group_id)
);
create index customer_groups_group_idx on crm.customer_groups (group_id);
comment on table crm.customer_groups is 'Which groups a customer belongs to.';

create table crm.delivery_places (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    street text,
    house_no text not null,
    flat text,
    city text not null,
    zip text,
    ruian_code bigint,
    latitude numeric(9, 6) check (latitude between -90 and 90),
    longitude numeric(9, 6) check (longitude between -180 and 180),
    note text,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index delivery_places_customer_idx on crm.delivery_places (customer_id);
comment on table crm.delivery_places is 'Units where services are delivered: address, flat, RÚIAN code, GPS.';

create table crm.contracts (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    operator_id bigint not null references crm.operators (id),
    number text not null,
    signed_on date,
    valid_from date not null,
    fixed_until date,
    notice_months integer not null default 1 check (notice_months between 0 and 24),
    state text not null default 'draft' check (state in ('draft', 'signed', 'terminated')),
    terminated_on date,
    document_id bigint,
    note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (operator_id, number),
    check (fixed_until is null or fixed_until >= valid_from),
    check ((state = 'terminated') = (terminated_on is not null))
);
create index contracts_customer_idx on crm.contracts (customer_id);
comment on table crm.contracts is
'Contracts: number, dates, fixed term or open-ended, notice period; document_id links the generated document.';

create table crm.customer_search (
    customer_id bigint primary key references crm.customers (id),
    sort_name text not null,
    search_text text not null
);
create index customer_search_trgm on crm.customer_search using gin (search_text gin_trgm_ops);
create index customer_search_sort_idx on crm.customer_search (sort_name, customer_id);
comment on table crm.customer_search is
'Derived search text of a customer (name, address, contacts, numbers; later IP, MAC, serials). [not audited: derived]';

-- ---------------------------------------------------------------------------------------------
-- user-defined parameters (RPT-3), one mechanism for customers, tariffs, services, devices

create table crm.parameter_definitions (
    id bigint generated always as identity primary key,
    entity text not null check (entity in ('customer', 'tariff', 'service', 'device')),
    class_id bigint,
    code text not null check (code ~ '^[a-z][a-z0-9_]{0,40}$'),
    name text not null,
    type text not null check (type in ('text', 'number', 'date', 'boolean', 'choice', 'ip', 'mac')),
    choices text [],
    required boolean not null default false,
    pattern text,
    min_value numeric,
    max_value numeric,
    unit text,
    default_value text,
    show_in_lists boolean not null default false,
    position integer not null default 100,
    active boolean not null default true,
    check ((type = 'choice') = (choices is not null))
);
create unique index parameter_definitions_code_uq on crm.parameter_definitions (
    entity, coalesce(class_id, 0), code
);
comment on table crm.parameter_definitions is
'Typed parameters the operator defines for customers, tariffs, services and devices (per class).';

create table crm.parameter_values (
    id bigint generated always as identity primary key,
    definition_id bigint not null references crm.parameter_definitions (id),
    entity_id bigint not null,
    value text not null,
    updated_at timestamptz not null default now(),
    unique (definition_id, entity_id)
);
create index parameter_values_entity_idx on crm.parameter_values (entity_id, definition_id);
create index parameter_values_value_idx on crm.parameter_values (definition_id, value);
comment on table crm.parameter_values is 'Values of user-defined parameters, validated against their definition.';

-- ---------------------------------------------------------------------------------------------
-- catalogue (CAT-1…3)

create table catalog.classes (
    id bigint generated always as identity primary key,
    code text not null unique check (code ~ '^[a-z][a-z0-9_]{0,40}$'),
    name text not null,
    kind text not null check (kind in ('service', 'goods')),
    description text
);
comment on table catalog.classes is 'Classes of products and services; a class decides the parameter set.';

alter table crm.parameter_definitions
add constraint parameter_definitions_class_fk foreign key (class_id) references catalog.classes (id);

create table catalog.vat_rates (
    id bigint generated always as identity primary key,
    vat_class text not null check (vat_class in ('standard', 'reduced', 'second_reduced', 'zero')),
    valid daterange not null,
    rate numeric(5, 2) not null check (rate >= 0 and rate < 100),
    exclude using gist (vat_class with =, valid with &&)
);
comment on table catalog.vat_rates is 'VAT rate of each rate class over time (Czech rates since 2013).';

insert into catalog.vat_rates (vat_class, valid, rate) values
('standard', daterange('2013-01-01', null), 21),
('reduced', daterange('2013-01-01', '2024-01-01'), 15),
('reduced', daterange('2024-01-01', null), 12),
('second_reduced', daterange('2015-01-01', '2024-01-01'), 10),
('second_reduced', daterange('2024-01-01', null), 12),
('zero', daterange('2013-01-01', null), 0);

create table catalog.zones (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    name text not null,
    description text,
    unique (operator_id, name)
);
comment on table catalog.zones is 'Price zones or areas of an operator.';

create table catalog.products (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    class_id bigint not null references catalog.classes (id),
    code text not null,
    name text not null,
    price_mode text not null default 'with_vat' check (price_mode in ('with_vat', 'without_vat')),
    vat_class text not null default 'standard'
    check (vat_class in ('standard', 'reduced', 'second_reduced', 'zero')),
    invoice_text text,
    description text,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (operator_id, code)
);
comment on table catalog.products is
'Products and services an operator sells; the class decides parameters, the price mode decides VAT entry.';

create table catalog.tariffs (
    id bigint generated always as identity primary key,
    product_id bigint not null references catalog.products (id),
    code text not null,
    name text not null,
    description text,
    active boolean not null default true,
    position integer not null default 100,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (product_id, code)
);
comment on table catalog.tariffs is 'Tariffs of a product (e.g. speeds of an internet product), with parameters and prices.';

create table catalog.prices (
    id bigint generated always as identity primary key,
    tariff_id bigint not null references catalog.tariffs (id),
    zone_id bigint references catalog.zones (id),
    valid daterange not null check (not isempty(valid)),
    monthly_fee numeric(14, 2) not null check (monthly_fee >= 0),
    setup_fee numeric(14, 2) not null default 0 check (setup_fee >= 0),
    created_at timestamptz not null default now(),
    exclude using gist (tariff_id with =, (coalesce(zone_id, 0)) with =, valid with &&)
);
comment on table catalog.prices is
'Dated prices of a tariff (per zone); never two prices at once. Amounts in the product''s price mode.';

create table catalog.bundles (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    code text not null,
    name text not null,
    description text,
    active boolean not null default true,
    unique (operator_id, code)
);
comment on table catalog.bundles is 'Bundles (sestavy): several tariffs activated in one step.';

create table catalog.bundle_items (
    id bigint generated always as identity primary key,
    bundle_id bigint not null references catalog.bundles (id) on delete cascade,
    tariff_id bigint not null references catalog.tariffs (id),
    discount_percent numeric(5, 2) not null default 0 check (discount_percent between 0 and 100),
    unique (bundle_id, tariff_id)
);
comment on table catalog.bundle_items is 'The tariffs of a bundle, each with its bundle discount.';

create table catalog.customer_discounts (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    percent numeric(5, 2) not null check (percent > 0 and percent <= 100),
    valid daterange not null check (not isempty(valid)),
    reason text not null,
    created_at timestamptz not null default now(),
    exclude using gist (customer_id with =, valid with &&)
);
comment on table catalog.customer_discounts is 'Group discounts (skupinová sleva) on a customer''s periodic services from a date.';

-- ---------------------------------------------------------------------------------------------
-- service instances (CAT-4)

create table crm.services (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    operator_id bigint not null references crm.operators (id),
    product_id bigint not null references catalog.products (id),
    delivery_place_id bigint references crm.delivery_places (id),
    contract_id bigint references crm.contracts (id),
    bundle_id bigint references catalog.bundles (id),
    state text not null default 'ordered'
    check (state in ('ordered', 'active', 'blocked', 'suspended', 'ended')),
    valid daterange not null check (not isempty(valid)),
    billing_plan_id bigint,
    period_months integer not null default 1 check (period_months in (1, 2, 3, 6, 12)),
    billing_day integer not null default 1 check (billing_day between 1 and 28),
    bill_from date,
    bill_separately boolean not null default false,
    block_kind text check (block_kind in ('manual', 'system')),
    block_reason text,
    suspended daterange,
    end_reason text,
    note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((state in ('blocked')) = (block_kind is not null)),
    check (state <> 'ended' or not upper_inf(valid))
);
create index services_customer_idx on crm.services (customer_id, id);
create index services_state_idx on crm.services (state) where state <> 'ended';
comment on table crm.services is
'Service instances: a product of an operator delivered to a customer, with its lifecycle and billing setup.';

create table crm.service_tariffs (
    id bigint generated always as identity primary key,
    service_id bigint not null references crm.services (id),
    tariff_id bigint not null references catalog.tariffs (id),
    valid daterange not null check (not isempty(valid)),
    exclude using gist (service_id with =, valid with &&)
);
create index service_tariffs_tariff_idx on crm.service_tariffs (tariff_id);
comment on table crm.service_tariffs is 'Which tariff a service had when: a tariff change closes one period and opens the next.';

create table crm.service_moves (
    id bigint generated always as identity primary key,
    service_id bigint not null references crm.services (id),
    from_customer_id bigint not null references crm.customers (id),
    to_customer_id bigint not null references crm.customers (id),
    moved_on date not null,
    reason text,
    created_at timestamptz not null default now()
);
create index service_moves_service_idx on crm.service_moves (service_id);
comment on table crm.service_moves is 'A service moved to another customer, keeping its history.';

-- ---------------------------------------------------------------------------------------------
-- enquiries, offers, orders (CAT-5)

create table catalog.orders (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    operator_id bigint not null references crm.operators (id),
    kind text not null check (kind in ('activate', 'cancel', 'change_params', 'change_tariff')),
    stage text not null default 'order'
    check (stage in ('enquiry', 'offer', 'order', 'accepted', 'rejected', 'cancelled', 'done')),
    service_id bigint references crm.services (id),
    tariff_id bigint references catalog.tariffs (id),
    bundle_id bigint references catalog.bundles (id),
    delivery_place_id bigint references crm.delivery_places (id),
    params jsonb not null default '{}',
    effective_on date not null default current_date,
    price_before numeric(14, 2),
    price_after numeric(14, 2),
    salesperson_id bigint references auth.users (id),
    source text not null default 'staff' check (source in ('staff', 'selfcare')),
    note text,
    reject_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (kind = 'activate' or service_id is not null),
    check (kind not in ('activate', 'change_tariff') or tariff_id is not null or bundle_id is not null)
);
create index orders_customer_idx on catalog.orders (customer_id, id);
create index orders_stage_idx on catalog.orders (stage, effective_on) where stage in ('enquiry', 'offer', 'order', 'accepted');
comment on table catalog.orders is
'Enquiries, offers and orders: activate, cancel, change parameters, change tariff; with prices before/after.';

create table catalog.order_events (
    id bigint generated always as identity primary key,
    order_id bigint not null references catalog.orders (id),
    stage text not null,
    note text,
    user_id bigint references auth.users (id),
    db_role text not null default current_user,
    created_at timestamptz not null default now()
);
create index order_events_order_idx on catalog.order_events (order_id, id);
comment on table catalog.order_events is
'The stages an order went through, who moved it and why. [not audited: is itself a history]';
