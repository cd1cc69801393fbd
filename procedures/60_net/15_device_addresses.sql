-- A device's own addresses (NET-3 on the device card): releasing one from the device's page
-- releases only an address that device holds, itself or on one of its interfaces.

create or replace function net.release_device_ip(
    p_device_id bigint, p_assignment_id bigint, p_at timestamptz default now()
)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The device card lists and releases the addresses of the device and of its interfaces; an
-- assignment of another device or of a service is refused, not released.
begin
  update net.ip_assignments a
     set valid = tstzrange(lower(a.valid), greatest(p_at, lower(a.valid) + interval '1 second'))
   where a.id = p_assignment_id and upper_inf(a.valid)
     and (a.device_id = p_device_id
          or a.interface_id in (select i.id from net.interfaces i where i.device_id = p_device_id));
  if found then
    return;
  end if;
  if not exists (select from net.ip_assignments a where a.id = p_assignment_id and upper_inf(a.valid)) then
    raise exception 'address assignment % is not open: nothing was released', p_assignment_id
      using errcode = 'MG031';
  end if;
  raise exception 'address assignment % does not belong to device %: nothing was released',
    p_assignment_id, p_device_id using errcode = 'MG034';
end;
$$;
comment on function net.release_device_ip(bigint, bigint, timestamptz) is
'End an address assignment of a device (or of one of its interfaces) at a moment; refused for anyone else''s.';
revoke all on function net.release_device_ip(bigint, bigint, timestamptz) from public;
grant execute on function net.release_device_ip(bigint, bigint, timestamptz) to mango_technician, mango_support;
