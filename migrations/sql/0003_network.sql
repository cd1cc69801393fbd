-- 0003 network inventory: sites, device models and devices, credentials, interfaces, links,
-- IPAM (prefixes, pools, VLANs, IP and MAC history), stores and stock movements, services on devices.
-- Frozen once merged. Functions, views, triggers, policies and grants live in procedures/.

-- Device classes share the parameter mechanism of the catalogue: a class of kind 'device'.
alter table catalog.classes drop constraint classes_kind_check;
alter table catalog.classes add constraint classes_kind_check check (kind in ('service', 'goods', 'device'));

create table net.sites (
    id bigint generated always as identity primary key,
    operator_id bigint references crm.operators (id),
    code text not null unique check (code ~ '^[A-Za-z0-9_.-]{1,30}$'),
    name text not null,
    kind text not null default 'pop' check (kind in ('core', 'pop', 'provozovna', 'tower', 'cabinet', 'datacenter')),
    street text,
    house_no text,
    city text,
    zip text,
    latitude numeric(9, 6) check (latitude between -90 and 90),
    longitude numeric(9, 6) check (longitude between -180 and 180),
    note text,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table net.sites is 'Sites: POPs, towers, cabinets and offices (provozovna), with address and GPS.';

create table net.device_models (
    id bigint generated always as identity primary key,
    manufacturer text not null,
    model text not null,
    kind text not null check (kind in ('router', 'switch', 'ap', 'olt', 'onu', 'cpe', 'server', 'other')),
    class_id bigint references catalog.classes (id),
    note text,
    unique (manufacturer, model)
);
comment on table net.device_models is 'Manufacturers'' models; the class decides the parameter set of their devices.';

create table net.credentials (
    id bigint generated always as identity primary key,
    name text not null unique,
    kind text not null check (kind in ('snmp_v2c', 'snmp_v3', 'ssh', 'routeros_api', 'http')),
    username text,
    secret text not null,
    note text,
    updated_at timestamptz not null default now()
);
comment on table net.credentials is
'Management credentials; the secret is readable only by the agents, never shown back to staff.';

create table net.stores (
    id bigint generated always as identity primary key,
    name text not null unique,
    kind text not null check (kind in ('warehouse', 'technician', 'customer', 'service', 'scrap')),
    site_id bigint references net.sites (id),
    technician_id bigint references auth.users (id),
    active boolean not null default true
);
create unique index stores_one_customer_store on net.stores (kind) where kind = 'customer';
comment on table net.stores is 'Stores (sklady): warehouses, technicians'' cars, the customer store, repair, scrap.';

create table net.devices (
    id bigint generated always as identity primary key,
    name text not null,
    model_id bigint references net.device_models (id),
    class_id bigint references catalog.classes (id),
    role text not null default 'operator' check (role in ('operator', 'customer')),
    site_id bigint references net.sites (id),
    serial_no text,
    identifier_code text,
    mgmt_address inet,
    credential_id bigint references net.credentials (id),
    managed boolean not null default false,
    parent_device_id bigint references net.devices (id),
    parent_interface_id bigint,
    store_id bigint references net.stores (id),
    state text not null default 'active' check (state in ('stock', 'active', 'faulty', 'retired')),
    is_core boolean not null default false,
    note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (parent_device_id <> id)
);
create unique index devices_serial_uq on net.devices (model_id, serial_no) where serial_no is not null;
create index devices_parent_idx on net.devices (parent_device_id);
create index devices_site_idx on net.devices (site_id);
create index devices_store_idx on net.devices (store_id) where store_id is not null;
create index devices_name_trgm on net.devices using gin (name gin_trgm_ops);
create index devices_serial_trgm on net.devices using gin (serial_no gin_trgm_ops);
comment on table net.devices is
'Devices of the operator and at customers: model, class, site, parent in the topology, management.';

create table net.device_events (
    id bigint generated always as identity primary key,
    device_id bigint not null references net.devices (id),
    happened_at timestamptz not null default now(),
    kind text not null,
    message text not null,
    user_id bigint references auth.users (id)
);
create index device_events_device_idx on net.device_events (device_id, id);
comment on table net.device_events is 'Event log of a device (notes, faults, swaps, state changes). [not audited: is itself a log]';

create table net.interfaces (
    id bigint generated always as identity primary key,
    device_id bigint not null references net.devices (id),
    name text not null,
    kind text not null default 'ethernet' check (kind in ('ethernet', 'sfp', 'wireless', 'pon', 'virtual', 'other')),
    mac macaddr,
    speed_mbps integer check (speed_mbps > 0),
    if_index integer,
    note text,
    unique (device_id, name)
);
create index interfaces_mac_idx on net.interfaces (mac) where mac is not null;
comment on table net.interfaces is 'Interfaces (ports, radios, PON ports) of a device.';

alter table net.devices
add constraint devices_parent_interface_fk foreign key (parent_interface_id) references net.interfaces (id);

create table net.links (
    id bigint generated always as identity primary key,
    a_interface_id bigint not null references net.interfaces (id),
    b_interface_id bigint not null references net.interfaces (id),
    medium text not null check (medium in ('fibre', 'radio', 'copper')),
    speed_mbps integer check (speed_mbps > 0),
    note text,
    check (a_interface_id <> b_interface_id)
);
create unique index links_pair_uq on net.links (least(a_interface_id, b_interface_id), greatest(a_interface_id, b_interface_id));
create index links_b_idx on net.links (b_interface_id);
comment on table net.links is 'Links between two interfaces: fibre, radio or copper, with speed.';

-- ---------------------------------------------------------------------------------------------
-- IPAM (NET-3)

create table net.vlans (
    id bigint generated always as identity primary key,
    vid integer not null check (vid between 1 and 4094),
    name text not null,
    site_id bigint references net.sites (id),
    note text
);
create unique index vlans_site_vid_uq on net.vlans (coalesce(site_id, 0), vid);
comment on table net.vlans is 'VLANs, per site or network-wide.';

create table net.prefixes (
    id bigint generated always as identity primary key,
    prefix cidr not null unique,
    kind text not null default 'customer'
    check (kind in ('public', 'private', 'cgnat', 'infrastructure', 'customer', 'management')),
    vlan_id bigint references net.vlans (id),
    site_id bigint references net.sites (id),
    description text
);
create index prefixes_gist on net.prefixes using gist (prefix inet_ops);
comment on table net.prefixes is 'IPv4 and IPv6 prefixes; they nest into a tree by containment.';

create table net.pools (
    id bigint generated always as identity primary key,
    prefix_id bigint not null references net.prefixes (id),
    name text not null unique,
    first_address inet not null,
    last_address inet not null,
    assign_prefix_length integer,
    purpose text not null default 'customer' check (purpose in ('customer', 'infrastructure', 'nat', 'delegation')),
    check (family(first_address) = family(last_address) and first_address <= last_address)
);
comment on table net.pools is 'Address pools inside a prefix, from which addresses (or delegated prefixes) are allocated.';

create table net.ip_assignments (
    id bigint generated always as identity primary key,
    address inet not null,
    pool_id bigint references net.pools (id),
    service_id bigint references crm.services (id),
    device_id bigint references net.devices (id),
    interface_id bigint references net.interfaces (id),
    valid tstzrange not null check (not isempty(valid)),
    note text,
    check (num_nonnulls(service_id, device_id, interface_id) >= 1),
    exclude using gist (address inet_ops with &&, valid with &&)
);
create index ip_assignments_service_idx on net.ip_assignments (service_id, valid) where service_id is not null;
create index ip_assignments_device_idx on net.ip_assignments (device_id) where device_id is not null;
comment on table net.ip_assignments is
'Who had which address (or delegated prefix) when: never two holders at once (exclusion constraint).';

create table net.mac_assignments (
    id bigint generated always as identity primary key,
    mac macaddr not null,
    service_id bigint references crm.services (id),
    device_id bigint references net.devices (id),
    valid tstzrange not null check (not isempty(valid)),
    note text,
    check (num_nonnulls(service_id, device_id) >= 1),
    exclude using gist (mac with =, valid with &&)
);
create index mac_assignments_service_idx on net.mac_assignments (service_id) where service_id is not null;
comment on table net.mac_assignments is 'MAC addresses registered to services or devices over time.';

-- ---------------------------------------------------------------------------------------------
-- stores (NET-4) and services on devices (NET-5)

create table net.stock_movements (
    id bigint generated always as identity primary key,
    device_id bigint not null references net.devices (id),
    kind text not null check (kind in ('stock_in', 'move', 'assign', 'detach', 'stock_out')),
    from_store_id bigint references net.stores (id),
    to_store_id bigint references net.stores (id),
    service_id bigint references crm.services (id),
    moved_at timestamptz not null default now(),
    note text,
    user_id bigint references auth.users (id)
);
create index stock_movements_device_idx on net.stock_movements (device_id, id);
comment on table net.stock_movements is
'Every movement of a device between stores, to and from customers. [not audited: is itself a history]';

create table net.service_devices (
    id bigint generated always as identity primary key,
    service_id bigint not null references crm.services (id),
    device_id bigint not null references net.devices (id),
    interface_id bigint references net.interfaces (id),
    role text not null check (role in ('cpe', 'access')),
    valid tstzrange not null default tstzrange(clock_timestamp(), null) check (not isempty(valid)),
    exclude using gist (service_id with =, role with =, valid with &&)
);
create index service_devices_device_idx on net.service_devices (device_id) where upper_inf(valid);
create index service_devices_service_idx on net.service_devices (service_id);
comment on table net.service_devices is
'The devices and ports that carry a service: its CPE and its access point or switch port, over time.';
