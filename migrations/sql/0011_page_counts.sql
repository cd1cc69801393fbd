-- 0011 page counts: counts and indexes that keep whole-table pages fast at a million customers. Frozen once merged.

-- What each store holds, per model and state: the stores page and a store's summary read these
-- few rows instead of counting a million devices. Kept exact by the statement triggers on
-- net.devices (procedures/60_net/30_store_stock.sql); filled here from the devices there are.
create table net.store_stock (
    store_id bigint not null references net.stores (id),
    model_id bigint references net.device_models (id),
    state text not null,
    devices bigint not null default 0,
    constraint store_stock_uq unique nulls not distinct (store_id, model_id, state)
);
comment on table net.store_stock is
'How many devices each store holds per model and state, kept by triggers on net.devices. [not audited: derived]';

insert into net.store_stock (store_id, model_id, state, devices)
select
    store_id,
    model_id,
    state,
    count(*) as devices
from net.devices
where store_id is not null
group by store_id, model_id, state;

-- A store's devices page by page (newest first), and its movements in or out, newest first:
-- two index scans that stop after a page instead of every movement of the customer store.
create index devices_store_id_idx on net.devices (store_id, id) where store_id is not null;
drop index net.devices_store_idx;
create index stock_movements_from_idx on net.stock_movements (from_store_id, id) where from_store_id is not null;
create index stock_movements_to_idx on net.stock_movements (to_store_id, id) where to_store_id is not null;

-- The device list in name order (keyset pagination), the operator's own devices (the map, the
-- parent choices) without the customers' CPEs, and a device's children in name order (the map
-- draws the first few CPEs under each access device).
create index devices_name_idx on net.devices (name, id);
create index devices_operator_idx on net.devices (name, id) where role = 'operator';
create index devices_parent_name_idx on net.devices (parent_device_id, name, id);
drop index net.devices_parent_idx;

-- A link by its first interface (links_pair_uq is on least/greatest, links_b_idx on the second).
create index links_a_idx on net.links (a_interface_id);

-- A device's addresses (its card, and releasing one there) are its own or its interfaces'.
create index ip_assignments_interface_idx on net.ip_assignments (interface_id) where interface_id is not null;

-- The services on a tariff today, counted from the index alone (it carries the period).
drop index crm.service_tariffs_tariff_idx;
create index service_tariffs_tariff_idx on crm.service_tariffs (tariff_id) include (valid);

-- Links between two of the operator's devices (a ring, a backup path, an uplink), apart from the
-- million links of customers' devices to their access ports: the map's other links and the sites'
-- links read these through their own index. Kept by triggers (procedures/60_net/35_operator_links.sql).
alter table net.links add column operator_link boolean not null default false;
comment on column net.links.operator_link is 'Both interfaces belong to devices of the operator (not a customer''s).';
update net.links as k
set operator_link = true
where not exists (
    select from net.interfaces as i
    inner join net.devices as d on i.device_id = d.id
    where i.id in (k.a_interface_id, k.b_interface_id) and d.role <> 'operator'
);
create index links_operator_idx on net.links (a_interface_id, b_interface_id) where operator_link;
