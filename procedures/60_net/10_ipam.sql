-- IPAM (NET-3): who had an address when, a customer's addresses over a period, allocation of the
-- next free address that is safe under concurrency, release.

create or replace function net.who_had(p_address inet, p_at timestamptz)
returns table (
    assignment_id bigint, address inet, valid tstzrange, service_id bigint, customer_id bigint,
    customer_no text, customer_name text, device_id bigint, device_name text, mac macaddr
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The holder of an address (or of the delegated prefix containing it) at a moment, with the
-- customer who held the service then, and the MAC registered to it then. The customer then is
-- the one the service left by its first move after that day, or (no later move) its customer
-- now: the same answer as crm.service_owners, looked up by index for the one service.
-- Dynamic SQL on purpose: the statement is planned with the actual address and moment. A plan
-- made for unknown parameters (what a SQL function with `set search_path` gets) scans the
-- (address, valid) GiST index for ~200 ms at 2.5 million assignments instead of < 1 ms.
begin
  return query execute $q$
    select a.id, a.address, a.valid, a.service_id, c.id, c.customer_no, crm.customer_name(c),
           a.device_id, d.name,
           coalesce(
             (select m.mac from net.mac_assignments m
               where m.service_id = a.service_id and m.valid @> $2
               order by m.id desc limit 1),
             case when a.device_id is not null then
               (select m.mac from net.mac_assignments m
                 where m.device_id = a.device_id and m.valid @> $2
                 order by m.id desc limit 1)
             end)
      from net.ip_assignments a
      left join crm.services s on s.id = a.service_id
      left join lateral (
        select coalesce(
                 (select mv.from_customer_id from crm.service_moves mv
                   where mv.service_id = a.service_id and mv.moved_on > crm.business_date(s.operator_id, $2)
                   order by mv.moved_on, mv.id limit 1),
                 s.customer_id) as customer_id
      ) o on true
      left join crm.customers c on c.id = o.customer_id
      left join net.devices d on d.id = a.device_id
     where a.address && $1 and a.valid @> $2
  $q$ using p_address, p_at;
end;
$$;
comment on function net.who_had(inet, timestamptz) is
'Who had an IP address at a moment: service, customer, device, MAC.';
revoke all on function net.who_had(inet, timestamptz) from public;
grant execute on function net.who_had(inet, timestamptz) to mango_office, mango_agent_provisioner, mango_flow;

-- Until it also said what matched (nothing read it).
drop function if exists net.customers_holding(text);

create or replace function net.customers_holding(p_query text)
returns table (customer_id bigint)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The customers who hold now what a search query names, when it is a network identifier (CRM-6):
-- an IP address (or an address inside a delegated prefix), a MAC address (aa:bb:cc:dd:ee:ff,
-- aa-bb-…, aabb.ccdd.eeff, or twelve hex digits with a letter among them: twelve plain digits are
-- a phone number), or a device's serial number (exact, case-blind; the device is the CPE or
-- access port of a customer's service). Nothing for any other query, at the cost of a few
-- pattern tests (and one trigram index probe for a word with a digit that could be a serial).
declare
  v_query text := lower(btrim(coalesce(p_query, '')));
  v_inet inet;
  v_mac macaddr;
begin
  if v_query ~ '^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$' or v_query ~ '^([0-9a-f]{4}\.){2}[0-9a-f]{4}$'
     or (v_query ~ '^[0-9a-f]{12}$' and v_query ~ '[a-f]') then
    v_mac := v_query::macaddr;
    return query
      select distinct coalesce(s.customer_id, ds.customer_id)
        from net.mac_assignments m
        left join crm.services s on s.id = m.service_id
        left join net.service_devices sd on sd.device_id = m.device_id and upper_inf(sd.valid) and m.service_id is null
        left join crm.services ds on ds.id = sd.service_id
       where m.mac = v_mac and m.valid @> now() and coalesce(s.customer_id, ds.customer_id) is not null;
    return;
  end if;
  if v_query ~ '^\d{1,3}(\.\d{1,3}){3}$' or v_query ~ '^[0-9a-f]*:[0-9a-f:]*(\d{1,3}(\.\d{1,3}){3})?$' then
    begin
      v_inet := v_query::inet;
    exception when invalid_text_representation then
      return;  -- looked like an address but is not one
    end;
    return query
      select distinct w.customer_id
        from net.who_had(v_inet, now()) w
       where w.customer_id is not null;
    return;
  end if;
  if v_query ~ '^[0-9a-z][0-9a-z/_.-]{3,}$' and v_query ~ '\d' then
    return query
      select distinct s.customer_id
        from net.devices d
        join net.service_devices sd on sd.device_id = d.id and upper_inf(sd.valid)
        join crm.services s on s.id = sd.service_id
       where d.serial_no ilike replace(v_query, '_', '\_');  -- the pattern above admits no % or \
  end if;
end;
$$;
comment on function net.customers_holding(text) is
'The customers who hold now the IP address, MAC address or device serial number a search names.';
revoke all on function net.customers_holding(text) from public;
grant execute on function net.customers_holding(text) to mango_office;

create or replace function net.customer_addresses(p_customer_id bigint, p_period tstzrange)
returns table (assignment_id bigint, address inet, valid tstzrange, service_id bigint)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- Every address a customer's services held during a period (only while the customer held them;
  -- a service moves between customers at the start of a business day).
  select x.id, x.address, x.valid, x.service_id
    from (
      select a.id, a.address, a.service_id,
             a.valid * p_period
               * tstzrange(lower(o.held)::timestamp at time zone z.zone, upper(o.held)::timestamp at time zone z.zone)
               as valid
        from crm.service_owners o
        join net.ip_assignments a on a.service_id = o.service_id and a.valid && p_period
       cross join (select crm.business_zone(c.operator_id) as zone from crm.customers c where c.id = p_customer_id) z
       where o.customer_id = p_customer_id
    ) x
   where not isempty(x.valid)
   order by lower(x.valid), x.address;
$$;
comment on function net.customer_addresses(bigint, tstzrange) is 'The IP addresses a customer had during a period.';
revoke all on function net.customer_addresses(bigint, tstzrange) from public;
grant execute on function net.customer_addresses(bigint, tstzrange)
to mango_office, mango_agent_scheduler, mango_agent_provisioner, mango_flow;

create or replace function net.assign_ip(
    p_address inet, p_service_id bigint, p_device_id bigint default null, p_from timestamptz default now(),
    p_note text default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint;
  v_holder text;
begin
  insert into net.ip_assignments (address, pool_id, service_id, device_id, valid, note)
  values (p_address,
          (select p.id from net.pools p
            where family(p.first_address) = family(p_address)
              and set_masklen(network(p_address)::inet, masklen(p.first_address))
                  between p.first_address and p.last_address
            order by masklen(inet_merge(p.first_address, p.last_address)) desc, p.id limit 1),
          p_service_id, p_device_id, tstzrange(p_from, null), p_note)
  returning id into v_id;
  return v_id;
exception when exclusion_violation then
  select coalesce('service ' || a.service_id, 'device ' || a.device_id) into v_holder
    from net.ip_assignments a where a.address && p_address and a.valid && tstzrange(p_from, null) limit 1;
  raise exception 'address % is already assigned (to %) at that time', p_address, v_holder
    using errcode = 'MG031', column = 'address';
end;
$$;
comment on function net.assign_ip(inet, bigint, bigint, timestamptz, text) is
'Assign an address to a service or device from a moment on (refused if it overlaps another holder).';
revoke all on function net.assign_ip(inet, bigint, bigint, timestamptz, text) from public;
grant execute on function net.assign_ip(inet, bigint, bigint, timestamptz, text)
to mango_technician, mango_support, mango_agent_provisioner;

create or replace function net.allocate_ip(
    p_pool_id bigint, p_service_id bigint, p_device_id bigint default null, p_from timestamptz default now()
)
returns inet
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The lowest address (or delegated prefix) of the pool free from p_from on. Allocations from one
-- pool are serialised by a transaction-level advisory lock on the pool (it needs no write right
-- on net.pools), so two allocations never pick the same address; each statement after the lock
-- sees what the previous holder of the lock committed.
declare
  v_pool net.pools;
  v_max integer;
  v_len integer;
  v_first inet;
  v_last inet;
  v_address inet;
begin
  select * into v_pool from net.pools where id = p_pool_id;
  if not found then
    raise exception 'pool % does not exist', p_pool_id using errcode = 'MG031';
  end if;
  perform pg_catalog.pg_advisory_xact_lock('net.pools'::regclass::oid::integer, p_pool_id::integer);
  v_max := case family(v_pool.first_address) when 4 then 32 else 128 end;
  v_len := coalesce(v_pool.assign_prefix_length, v_max);
  v_first := set_masklen(network(set_masklen(v_pool.first_address, v_len))::inet, v_max);
  v_last := set_masklen(v_pool.last_address, v_max);
  -- Every holding that overlaps the pool from p_from on, as blocks of the allocation size; the
  -- answer is the first address, or the first block after a run of taken blocks.
  with taken as (
    select set_masklen(network(set_masklen(a.address, least(masklen(a.address), v_len)))::inet, v_max) as block,
           set_masklen(broadcast(set_masklen(a.address, least(masklen(a.address), v_len))), v_max) as last
      from net.ip_assignments a
     where a.address && inet_merge(v_pool.first_address, v_pool.last_address)
       and a.valid && tstzrange(p_from, null)
  ), in_pool as (
    select t.block, t.last from taken t where t.last >= v_first and t.block <= v_last
  ), runs as (
    select max(i.last) over (order by i.block rows unbounded preceding) as reach,
           lead(i.block) over (order by i.block) as next_block
      from in_pool i
  )
  select c.address into v_address
    from (
      select v_first as address where not exists (select from in_pool i where i.block <= v_first)
      union all
      select r.reach + 1 from runs r where r.reach < v_last and (r.next_block is null or r.reach + 1 < r.next_block)
    ) c
   where c.address <= v_last
   order by c.address
   limit 1;
  if v_address is null then
    raise exception 'pool % is full', v_pool.name using errcode = 'MG032';
  end if;
  v_address := set_masklen(v_address, v_len);
  insert into net.ip_assignments (address, pool_id, service_id, device_id, valid)
  values (v_address, p_pool_id, p_service_id, p_device_id, tstzrange(p_from, null));
  return v_address;
exception when exclusion_violation then
  raise exception 'address % is already assigned at that time', v_address using errcode = 'MG031', column = 'address';
end;
$$;
comment on function net.allocate_ip(bigint, bigint, bigint, timestamptz) is
'Assign the next free address of a pool (safe under concurrency).';
revoke all on function net.allocate_ip(bigint, bigint, bigint, timestamptz) from public;
grant execute on function net.allocate_ip(bigint, bigint, bigint, timestamptz)
to mango_technician, mango_support, mango_agent_provisioner;

create or replace function net.release_ip(p_assignment_id bigint, p_at timestamptz default now())
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  update net.ip_assignments set valid = tstzrange(lower(valid), greatest(p_at, lower(valid) + interval '1 second'))
   where id = p_assignment_id and upper_inf(valid);
  if not found then
    raise exception 'assignment % is not open', p_assignment_id using errcode = 'MG031';
  end if;
end;
$$;
comment on function net.release_ip(bigint, timestamptz) is 'End an address assignment at a moment; its history stays.';
revoke all on function net.release_ip(bigint, timestamptz) from public;
grant execute on function net.release_ip(bigint, timestamptz)
to mango_technician, mango_support, mango_agent_provisioner;

create or replace view net.prefix_usage
with (security_invoker = true)
as
select
    p.id,
    p.prefix,
    p.kind,
    p.description,
    (
        select q.id from net.prefixes as q
        where q.prefix >> p.prefix
        order by masklen(q.prefix) desc
        limit 1
    ) as parent_id,
    case family(p.prefix) when 4 then 2 ^ (32 - masklen(p.prefix)) end as size,
    (
        select count(*) from net.ip_assignments as a
        -- sqlfluff cannot parse the inet operator <<= (contained by or equal).
        where a.address <<= p.prefix and upper_inf(a.valid)  -- noqa: PRS
    ) as used
from net.prefixes as p;
comment on view net.prefix_usage is 'Prefixes with their parent in the tree, size (IPv4) and addresses in use now.';
grant select on net.prefix_usage to mango_office, mango_agent_provisioner;

-- Support staff (at installation) and the agents (at activation) assign addresses and MACs
-- through the functions above; technicians already write every network table.
grant insert, update on net.ip_assignments, net.mac_assignments to mango_support, mango_agent_provisioner;
drop policy if exists support_write_all on net.ip_assignments;
create policy support_write_all on net.ip_assignments for all to mango_staff, mango_agent_provisioner
using (true) with check (true);
drop policy if exists support_write_all on net.mac_assignments;
create policy support_write_all on net.mac_assignments for all to mango_staff, mango_agent_provisioner
using (true) with check (true);
