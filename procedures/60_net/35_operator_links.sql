-- net.links.operator_link (0011): whether both ends of a link are the operator's devices, so that
-- the map and the sites' links read the operator's few links, not every customer device's.

create or replace function net.tg_links__operator_link()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  new.operator_link := not exists (
    select from net.interfaces i join net.devices d on d.id = i.device_id
     where i.id in (new.a_interface_id, new.b_interface_id) and d.role <> 'operator'
  );
  return new;
end;
$$;
comment on function net.tg_links__operator_link() is 'A link says whether it joins two of the operator''s devices.';
revoke all on function net.tg_links__operator_link() from public;

create or replace trigger _600_operator_link before insert or update of a_interface_id, b_interface_id on net.links
for each row execute function net.tg_links__operator_link();

create or replace function net.tg_devices__operator_links()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: the flag is derived from the devices' roles; whoever may change a device's role keeps
-- its links' flag right, even without the right to change links.
begin
  update net.links k
     set operator_link = not exists (
           select from net.interfaces i join net.devices d on d.id = i.device_id
            where i.id in (k.a_interface_id, k.b_interface_id) and d.role <> 'operator')
   where k.a_interface_id in (select i.id from net.interfaces i where i.device_id = new.id)
      or k.b_interface_id in (select i.id from net.interfaces i where i.device_id = new.id);
  return null;
end;
$$;
comment on function net.tg_devices__operator_links() is
'A device that changes role updates whether its links are the operator''s.';
revoke all on function net.tg_devices__operator_links() from public;

create or replace trigger _600_operator_links after update of role on net.devices
for each row when (old.role is distinct from new.role) execute function net.tg_devices__operator_links();
