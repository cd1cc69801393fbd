-- Devices and topology (NET-1, NET-2, NET-5): validation, loops refused, path to the core,
-- the subtree below a device and the customers it affects.

create or replace trigger _100_timestamps before update on net.sites
for each row execute function audit.tg__updated_at();
create or replace trigger _100_timestamps before update on net.credentials
for each row execute function audit.tg__updated_at();

create or replace function net.tg_devices__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if new.class_id is null and new.model_id is not null then
    select class_id into new.class_id from net.device_models where id = new.model_id;
  end if;
  new.serial_no := nullif(btrim(new.serial_no), '');
  if new.parent_device_id is not null then
    if new.parent_device_id = new.id or exists (
      with recursive up (id, parent_device_id) as (
        select d.id, d.parent_device_id from net.devices d where d.id = new.parent_device_id
        union all
        select d.id, d.parent_device_id from net.devices d join up on d.id = up.parent_device_id
      ) cycle id set is_cycle using path
      select from up where up.id = new.id
    ) then
      raise exception 'device % cannot be its own ancestor: choose a parent that is not below it', new.name
        using errcode = 'MG030', column = 'parent_device_id';
    end if;
  end if;
  if new.parent_interface_id is not null and not exists (
    select from net.interfaces i where i.id = new.parent_interface_id and i.device_id = new.parent_device_id
  ) then
    raise exception 'the parent interface must be an interface of the parent device'
      using errcode = 'MG030', column = 'parent_interface_id';
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function net.tg_devices__validate() is 'A device''s class comes from its model; the topology has no loops.';
revoke all on function net.tg_devices__validate() from public;

create or replace trigger _500_validate before insert or update on net.devices
for each row execute function net.tg_devices__validate();

create or replace function net.tg_links__two_devices()
returns trigger
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- A link joins two devices: its two interfaces belong to different devices. After the statement's
-- rows, so that interfaces made by the same statement (a data-modifying CTE) are seen.
begin
  if exists (
    select from net.interfaces a
      join net.interfaces b on b.id = new.b_interface_id and b.device_id = a.device_id
     where a.id = new.a_interface_id
  ) then
    raise exception 'a link joins two devices: both interfaces belong to the same device'
      using errcode = 'MG030', column = 'b_interface_id';
  end if;
  return null;
end;
$$;
comment on function net.tg_links__two_devices() is 'A link''s two interfaces are on two different devices.';
revoke all on function net.tg_links__two_devices() from public;

create or replace trigger _500_two_devices after insert or update of a_interface_id, b_interface_id on net.links
for each row execute function net.tg_links__two_devices();

create or replace function net.tg_interfaces__keep_links()
returns trigger
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- An interface that moves to another device may not end up linked to that device itself.
begin
  if exists (
    select from net.links k
      join net.interfaces o on o.id = case when k.a_interface_id = new.id then k.b_interface_id else k.a_interface_id end
     where new.id in (k.a_interface_id, k.b_interface_id) and o.device_id = new.device_id
  ) then
    raise exception 'interface % is linked to device %: it cannot move to that device', new.name, new.device_id
      using errcode = 'MG030', column = 'device_id';
  end if;
  return new;
end;
$$;
comment on function net.tg_interfaces__keep_links() is 'An interface does not move onto the device it is linked to.';
revoke all on function net.tg_interfaces__keep_links() from public;

create or replace trigger _500_keep_links before update of device_id on net.interfaces
for each row when (old.device_id is distinct from new.device_id) execute function net.tg_interfaces__keep_links();

create or replace function net.path_to_core(p_device_id bigint)
returns table (
    depth integer, device_id bigint, name text, site text, uplink_interface text, medium text,
    speed_mbps integer, is_core boolean
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- From the device up through its parents to the core; each row says how it hangs on its parent.
  with recursive up (depth, id, parent_device_id, parent_interface_id) as (
    select 0, d.id, d.parent_device_id, d.parent_interface_id from net.devices d where d.id = p_device_id
    union all
    select up.depth + 1, d.id, d.parent_device_id, d.parent_interface_id
      from net.devices d join up on d.id = up.parent_device_id
  ) cycle id set is_cycle using path
  select up.depth, d.id, d.name, s.name, pi.name, l.medium, l.speed_mbps, d.is_core
    from up
    join net.devices d on d.id = up.id
    left join net.sites s on s.id = d.site_id
    left join net.interfaces pi on pi.id = up.parent_interface_id
    left join lateral (
      select k.medium, k.speed_mbps from net.links k
        join net.interfaces i on i.id in (k.a_interface_id, k.b_interface_id) and i.device_id = up.id
       where up.parent_interface_id in (k.a_interface_id, k.b_interface_id)
       limit 1
    ) l on true
   where not up.is_cycle
   order by up.depth;
$$;
comment on function net.path_to_core(bigint) is
'The chain of devices from a device up to the core, with the links between them.';
revoke all on function net.path_to_core(bigint) from public;
grant execute on function net.path_to_core(bigint) to mango_office, mango_agent_monitor, mango_agent_provisioner;

create or replace function net.subtree(p_device_id bigint)
returns table (device_id bigint, depth integer)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  with recursive down (id, depth) as (
    select p_device_id, 0
    union all
    select d.id, down.depth + 1 from net.devices d join down on d.parent_device_id = down.id
  ) cycle id set is_cycle using path
  select id, depth from down where not is_cycle;
$$;
comment on function net.subtree(bigint) is 'A device and every device below it in the topology.';
revoke all on function net.subtree(bigint) from public;
grant execute on function net.subtree(bigint) to mango_office, mango_agent_monitor, mango_agent_provisioner;

create or replace function net.affected_customers(p_device_id bigint)
returns table (
    customer_id bigint, customer_no text, customer_name text, service_id bigint, product text,
    state text, via_device_id bigint, via_device text
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- Every running service carried by the device or any device below it, with its customer.
  select distinct on (s.id) c.id, c.customer_no, crm.customer_name(c), s.id, p.name, s.state, d.id, d.name
    from net.subtree(p_device_id) t
    join net.service_devices sd on sd.device_id = t.device_id and (upper_inf(sd.valid) or upper(sd.valid) > now())
    join crm.services s on s.id = sd.service_id and s.state <> 'ended'
    join crm.customers c on c.id = s.customer_id
    join catalog.products p on p.id = s.product_id
    join net.devices d on d.id = sd.device_id
   order by s.id, t.depth;
$$;
comment on function net.affected_customers(bigint) is 'Customers and services downstream of a device (for outages).';
revoke all on function net.affected_customers(bigint) from public;
grant execute on function net.affected_customers(bigint) to mango_office, mango_agent_monitor;

create or replace function net.log_device_event(p_device_id bigint, p_kind text, p_message text)
returns bigint
language sql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
  insert into net.device_events (device_id, kind, message, user_id)
  values (p_device_id, p_kind, p_message, auth.user_id())
  returning id;
$$;
comment on function net.log_device_event(bigint, text, text) is 'Write an entry in a device''s event log.';
revoke all on function net.log_device_event(bigint, text, text) from public;
grant execute on function net.log_device_event(bigint, text, text)
to mango_support, mango_technician, mango_agent_monitor, mango_agent_provisioner;

-- Everyone on the staff reads the inventory; technicians (and admins) change it. Credentials'
-- secrets are readable only by the agents: staff get every column but the secret.
do $$
declare
  v_table text;
begin
  foreach v_table in array array['sites', 'device_models', 'devices', 'interfaces', 'links', 'vlans', 'prefixes',
                                 'pools', 'ip_assignments', 'mac_assignments', 'stores', 'stock_movements',
                                 'service_devices', 'device_events', 'credentials'] loop
    execute format('alter table net.%I enable row level security', v_table);
    execute format('drop policy if exists staff_select_all on net.%I', v_table);
    execute format('create policy staff_select_all on net.%I for select to mango_staff, mango_agent_scheduler, '
                   'mango_agent_monitor, mango_agent_provisioner using (true)', v_table);
    execute format('drop policy if exists technician_write_all on net.%I', v_table);
    execute format('create policy technician_write_all on net.%I for all to mango_staff using (true) '
                   'with check (true)', v_table);
    if v_table <> 'credentials' then
      execute format('grant select on net.%I to mango_office, mango_agent_provisioner', v_table);
    end if;
    -- The monitoring agent polls devices and follows the topology (an outage's children).
    if v_table in ('sites', 'device_models', 'devices', 'interfaces', 'links', 'device_events') then
      execute format('grant select on net.%I to mango_agent_monitor', v_table);
    end if;
    execute format('grant insert, update on net.%I to mango_technician', v_table);
    if v_table not in ('device_events', 'stock_movements') then
      execute format('select audit.enable(%L, %L)', 'net.' || v_table,
                     case when v_table = 'credentials' then '{secret}' else '{}' end);
    end if;
  end loop;
end;
$$;
grant delete on net.links, net.interfaces, net.vlans, net.prefixes, net.pools, net.service_devices to mango_technician;
revoke delete on net.device_events, net.stock_movements from mango_technician;
revoke update on net.device_events, net.stock_movements from mango_technician;
grant insert on net.device_events to mango_support, mango_agent_monitor, mango_agent_provisioner;
drop policy if exists staff_insert_all on net.device_events;
create policy staff_insert_all on net.device_events for insert
to mango_staff, mango_agent_monitor, mango_agent_provisioner with check (true);
-- Device secrets: staff see that a credential exists, never its secret; technicians set them; the
-- provisioning agent, which logs in to devices (and fetches their configuration), reads them.
grant select (id, name, kind, username, note, updated_at) on net.credentials to mango_office;
grant insert, update on net.credentials to mango_technician;
grant select on net.credentials to mango_agent_provisioner;
-- Support staff tie services to devices and ports (a CPE at installation).
grant insert, update on net.service_devices to mango_support;
drop policy if exists support_write_all on net.service_devices;
create policy support_write_all on net.service_devices for all to mango_staff using (true) with check (true);
