-- Stores (NET-4): stock in, moves, stock out; assigning a device to a service moves it to the
-- customer store, taking it out of the customer store detaches it.

create or replace function net.customer_store()
returns bigint
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select id from net.stores where kind = 'customer';
$$;
comment on function net.customer_store() is 'The store where devices at customers are kept.';
revoke all on function net.customer_store() from public;
grant execute on function net.customer_store() to mango_office;

create or replace function net.stock_in(
    p_store_id bigint, p_model_id bigint, p_serial_no text, p_name text default null, p_note text default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint;
begin
  insert into net.devices (name, model_id, serial_no, role, state, store_id, note)
  values (coalesce(p_name, (select manufacturer || ' ' || model from net.device_models where id = p_model_id)
                           || ' ' || coalesce(p_serial_no, '')),
          p_model_id, p_serial_no, 'customer', 'stock', p_store_id, p_note)
  returning id into v_id;
  insert into net.stock_movements (device_id, kind, to_store_id, note, user_id)
  values (v_id, 'stock_in', p_store_id, p_note, auth.user_id());
  return v_id;
exception when unique_violation then
  raise exception 'a device of this model with serial number % is already registered', p_serial_no
    using errcode = 'MG033', column = 'serial_no';
end;
$$;
comment on function net.stock_in(bigint, bigint, text, text, text) is 'Receive a new device into a store.';
revoke all on function net.stock_in(bigint, bigint, text, text, text) from public;
grant execute on function net.stock_in(bigint, bigint, text, text, text) to mango_technician;

create or replace function net.move_device(p_device_id bigint, p_to_store_id bigint, p_note text default null)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Out of the customer store means back from the customer: the device is detached from its service.
declare
  v_from bigint;
  v_kind text := 'move';
begin
  select store_id into v_from from net.devices where id = p_device_id for update;
  if not found then
    raise exception 'device % does not exist', p_device_id using errcode = 'MG033';
  end if;
  if v_from is not distinct from p_to_store_id then
    raise exception 'the device is already in that store' using errcode = 'MG033', column = 'store_id';
  end if;
  if v_from = net.customer_store() then
    update net.service_devices set valid = tstzrange(lower(valid), clock_timestamp())
     where device_id = p_device_id and upper_inf(valid);
    v_kind := 'detach';
  end if;
  if (select kind from net.stores where id = p_to_store_id) = 'scrap' then
    v_kind := 'stock_out';
  end if;
  update net.devices
     set store_id = p_to_store_id,
         state = case when v_kind = 'stock_out' then 'retired' else 'stock' end,
         parent_device_id = case when v_kind = 'detach' then null else parent_device_id end,
         parent_interface_id = case when v_kind = 'detach' then null else parent_interface_id end
   where id = p_device_id;
  insert into net.stock_movements (device_id, kind, from_store_id, to_store_id, note, user_id)
  values (p_device_id, v_kind, v_from, p_to_store_id, p_note, auth.user_id());
end;
$$;
comment on function net.move_device(bigint, bigint, text) is
'Move a device to another store (detaching it if it was at a customer).';
revoke all on function net.move_device(bigint, bigint, text) from public;
grant execute on function net.move_device(bigint, bigint, text) to mango_technician;

create or replace function net.assign_device(
    p_device_id bigint, p_service_id bigint, p_parent_device_id bigint default null,
    p_parent_interface_id bigint default null
)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A CPE goes to the customer: into the customer store, tied to the service, hung in the topology.
declare
  v_from bigint;
begin
  select store_id into v_from from net.devices where id = p_device_id for update;
  if not found then
    raise exception 'device % does not exist', p_device_id using errcode = 'MG033';
  end if;
  if net.customer_store() is null then
    raise exception 'there is no customer store: create a store of kind customer' using errcode = 'MG033';
  end if;
  if exists (select from net.service_devices where device_id = p_device_id and role = 'cpe' and upper_inf(valid)) then
    raise exception 'device % is already at a customer', p_device_id using errcode = 'MG033';
  end if;
  update net.service_devices set valid = tstzrange(lower(valid), clock_timestamp())
   where service_id = p_service_id and role = 'cpe' and upper_inf(valid);
  insert into net.service_devices (service_id, device_id, role) values (p_service_id, p_device_id, 'cpe');
  update net.devices
     set store_id = net.customer_store(), state = 'active', role = 'customer',
         parent_device_id = coalesce(p_parent_device_id, parent_device_id),
         parent_interface_id = coalesce(p_parent_interface_id, parent_interface_id)
   where id = p_device_id;
  insert into net.stock_movements (device_id, kind, from_store_id, to_store_id, service_id, user_id)
  values (p_device_id, 'assign', v_from, net.customer_store(), p_service_id, auth.user_id());
end;
$$;
comment on function net.assign_device(bigint, bigint, bigint, bigint) is
'Give a device to a customer''s service: it moves to the customer store and carries the service.';
revoke all on function net.assign_device(bigint, bigint, bigint, bigint) from public;
grant execute on function net.assign_device(bigint, bigint, bigint, bigint) to mango_technician;
