-- Lawful requests (DR-4): who held an address (or, behind NAT, a public address and port) during a
-- period with the legally required fields, the flow records of an address, the cases of authorised
-- officers, their queries with the answer kept as a snapshot, and CSV exports. Only officers
-- (mango_flow) execute these functions or read these tables; every case change, query and export
-- is a row of its own and goes to the audit history, which only officers can read.
--
-- The fields follow what an operator must hand over for fixed internet access (§ 97 zákona
-- 127/2005 Sb., vyhláška 357/2012 Sb.): connection type, subscriber and account identification,
-- MAC address, start and end of the connection, access point, IP address and port; behind NAT also
-- the private address, the public address and port or port range, and start and end of the
-- translation.

-- ---------------------------------------------------------------------------------------------
-- Helpers

create or replace function flow.require_officer()
returns bigint
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_uid bigint := auth.user_id();
begin
  if v_uid is null or not auth.may('flow') then
    raise exception 'lawful requests need a logged-in officer (a staff user with the flow role)'
      using errcode = '42501';
  end if;
  return v_uid;
end;
$$;
comment on function flow.require_officer() is 'The logged-in officer''s user id; a permission error without one.';
revoke all on function flow.require_officer() from public;
grant execute on function flow.require_officer() to mango_flow;

create or replace function flow.nat_lookaround()
returns interval
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  select coalesce((select (s.value #>> '{}')::interval from flow.settings s where s.key = 'nat_lookaround'),
                  interval '7 days');
$$;
comment on function flow.nat_lookaround() is
'How far around a requested period NAT create and delete events are looked for (a flow.settings row).';
revoke all on function flow.nat_lookaround() from public;
grant execute on function flow.nat_lookaround() to mango_flow;

create or replace function flow.check_request(p_address inet, p_port integer, p_period tstzrange)
returns void
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if p_address is null then
    raise exception 'give the IP address the request is about' using errcode = 'MG722', column = 'address';
  end if;
  if p_port is not null and (p_port < 0 or p_port > 65535) then
    raise exception 'a port is a number from 0 to 65535 (got %)', p_port using errcode = 'MG722', column = 'port';
  end if;
  perform flow.check_period(p_period);
end;
$$;
comment on function flow.check_request(inet, integer, tstzrange) is
'Refuse a lookup without an address, with a port out of range or without a bounded period.';
revoke all on function flow.check_request(inet, integer, tstzrange) from public;
grant execute on function flow.check_request(inet, integer, tstzrange) to mango_flow;

create or replace function flow.check_period(p_period tstzrange)
returns void
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if p_period is null or isempty(p_period) or lower_inf(p_period) or upper_inf(p_period) then
    raise exception 'give the period as a start and an end, the end after the start'
      using errcode = 'MG722', column = 'period';
  end if;
end;
$$;
comment on function flow.check_period(tstzrange) is 'Refuse a period that is empty or open at either end.';
revoke all on function flow.check_period(tstzrange) from public;
grant execute on function flow.check_period(tstzrange) to mango_flow;

create or replace function flow.connection_type(p_medium text)
returns text
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  select case p_medium
           when 'radio' then 'fixed wireless access'
           when 'fibre' then 'fixed optical access'
           when 'copper' then 'fixed copper access'
           else 'fixed internet access'
         end;
$$;
comment on function flow.connection_type(text) is
'The connection type handed over, from the medium of the link between the customer''s device and its access point.';
revoke all on function flow.connection_type(text) from public;
grant execute on function flow.connection_type(text) to mango_flow;

-- ---------------------------------------------------------------------------------------------
-- Who held an address, NAT translations, flows

create or replace function flow.lawful_holders(p_address inet, p_period tstzrange)
returns table (
    assignment_id bigint, address inet, connection_start timestamptz, connection_end timestamptz,
    service_id bigint, service_name text, contract_no text, customer_id bigint, customer_no text,
    customer_name text, mac text, device_id bigint, device_name text, access_point_id bigint, access_point text,
    access_point_site text, connection_type text
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- One row per holding of the address (or of the delegated prefix containing it) that overlaps the
-- period, split where its service moved to another customer (moves take effect at the start of a
-- business day of the service's operator, as in crm.service_owners). The connection start and end are those of the holding.
-- MAC: every MAC registered to the service during the holding. Access point: the access device
-- the service was tied to then, else the parent of its CPE in the topology. Connection type: the
-- medium of the link at the access port (or between the CPE and its parent).
-- Dynamic SQL so that the statement is planned with the actual address and period (see
-- net.who_had): a generic plan scans the (address, valid) GiST index for far too long.
begin
  return query execute $q$
    select a.id, a.address, lower(seg.valid), upper(seg.valid), a.service_id, p.name, k.number, c.id,
           c.customer_no, crm.customer_name(c), macs.list, cpe.device_id, d.name, ap.id, ap.name, st.name,
           case when a.service_id is not null then flow.connection_type(coalesce(acc.medium, up.medium)) end
      from net.ip_assignments a
      left join crm.services s on s.id = a.service_id
      left join catalog.products p on p.id = s.product_id
      left join crm.contracts k on k.id = s.contract_id
      cross join lateral (
        select o.customer_id,
               a.valid * tstzrange(lower(o.held)::timestamp at time zone crm.business_zone(s.operator_id),
                                   upper(o.held)::timestamp at time zone crm.business_zone(s.operator_id)) as valid
          from crm.service_owners o
         where o.service_id = a.service_id
        union all
        select null::bigint, a.valid where a.service_id is null
      ) seg
      left join crm.customers c on c.id = seg.customer_id
      left join lateral (
        select string_agg(x.mac, ', ' order by x.since) as list
          from (select m.mac::text as mac, min(lower(m.valid)) as since
                  from net.mac_assignments m
                 where m.service_id = a.service_id and m.valid && seg.valid
                 group by m.mac) x
      ) macs on true
      left join lateral (
        select coalesce(a.device_id,
                        (select sd.device_id from net.service_devices sd
                          where sd.service_id = a.service_id and sd.role = 'cpe' and sd.valid && seg.valid
                          order by lower(sd.valid) desc limit 1)) as device_id
      ) cpe on true
      left join net.devices d on d.id = cpe.device_id
      left join lateral (
        select sd.device_id, sd.interface_id from net.service_devices sd
         where sd.service_id = a.service_id and sd.role = 'access' and sd.valid && seg.valid
         order by lower(sd.valid) desc limit 1
      ) tie on true
      left join net.devices ap on ap.id = coalesce(tie.device_id, d.parent_device_id)
      left join net.sites st on st.id = ap.site_id
      left join lateral (
        select l.medium from net.links l
         where tie.interface_id in (l.a_interface_id, l.b_interface_id)
         order by l.id limit 1
      ) acc on true
      left join lateral (
        select t.medium from net.path_to_core(cpe.device_id) t where t.depth = 0
      ) up on true
     where a.address && $1 and a.valid && $2 and not isempty(seg.valid) and seg.valid && $2
     order by lower(seg.valid), a.id
  $q$ using p_address, p_period;
end;
$$;
comment on function flow.lawful_holders(inet, tstzrange) is
'Who held an address during a period: each holding with customer, contract, service, MACs, CPE, access point and
connection type.';
revoke all on function flow.lawful_holders(inet, tstzrange) from public;
grant execute on function flow.lawful_holders(inet, tstzrange) to mango_flow;

create or replace function flow.nat_mappings(p_public inet, p_port integer, p_private inet, p_period tstzrange)
returns table (
    exporter inet, protocol smallint, private_ip inet, private_port integer, public_ip inet,
    public_port_first integer, public_port_last integer, nat_start timestamptz, nat_end timestamptz
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- NAT translations that overlap the period, from the NAT events: by public address (and the port,
-- which lies in the translated port or the allocated port block) or by private address. Only
-- events that name both the private and the public address are translations (alarms such as
-- "ports exhausted" are not). natEvent values (IANA registry, RFC 8158): create 1, 4, 6, 8, 10,
-- 14 and 16 (port block allocation), delete 2, 5, 7, 9, 11, 15 and 17; Juniper's exporters use
-- the draft's numbering, where 12 / 13 create and delete an address binding and 14 / 15 allocate
-- and release a port block, which reads the same way. A translation is the same when exporter,
-- domain, VRF, protocol, private and public address and port (or block) and destination are. A
-- create starts it, the first delete after it ends it; a create that follows a create (an interim
-- "still allocated" record) continues it. Events are looked for from flow.nat_lookaround() before
-- the period to as long after it: a create without a delete there has no known end (null), a
-- delete without a create no known start (null). A record without natEvent (post-NAT fields in a
-- flow record) is a translation seen at that one moment.
-- The statement is planned with its values ($6: by public address, $7: a single address), so
-- the conditions that do not apply fold away and the address indexes of closed days are used.
declare
  v_address inet := coalesce(p_public, p_private);
  v_lookaround interval := flow.nat_lookaround();
begin
  perform flow.check_period(p_period);
  if (p_public is null) = (p_private is null) then
    raise exception 'look NAT translations up by the public or by the private address' using errcode = 'MG722';
  end if;
  return query execute $q$
    with ev as (
      select e.exporter, e.observation_domain, e.vrf_id, e.protocol, e.src_addr, e.src_port, e.dst_addr,
             e.dst_port, e.post_src_addr, e.post_src_port, e.port_range_start, e.port_range_end, e.event_time,
             case when e.nat_event in (1, 4, 6, 8, 10, 12, 14, 16) then 'c'
                  when e.nat_event in (2, 5, 7, 9, 11, 13, 15, 17) then 'd'
                  when e.nat_event is null then 's' end as what
        from flow.nat_events e
       where e.src_addr is not null and e.post_src_addr is not null
         and (($6 and $7 and e.post_src_addr = $1) or ($6 and not $7 and e.post_src_addr <<= $1)
              or (not $6 and $7 and e.src_addr = $1) or (not $6 and not $7 and e.src_addr <<= $1))
         and ($2 is null or e.post_src_port = $2 or $2 between e.port_range_start and e.port_range_end
              or (e.post_src_port is null and e.port_range_start is null))
         and e.event_time >= $3 and e.event_time < $4
    ), paired as (
      select ev.*, lag(ev.what) over w as prev_what,
             min(ev.event_time) filter (where ev.what = 'd')
               over (w rows between 1 following and unbounded following) as next_delete
        from ev
       where ev.what is not null
      window w as (partition by ev.exporter, ev.observation_domain, ev.vrf_id, ev.protocol, ev.src_addr,
                                ev.src_port, ev.dst_addr, ev.dst_port, ev.post_src_addr, ev.post_src_port,
                                ev.port_range_start, ev.port_range_end
                   order by ev.event_time, ev.what)
    ), mappings as (
      select p.exporter, p.protocol, p.src_addr, p.src_port, p.post_src_addr,
             coalesce(p.port_range_start, p.post_src_port) as first_port,
             coalesce(p.port_range_end, p.post_src_port) as last_port,
             case when p.what <> 'd' then p.event_time end as nat_start,
             case p.what when 'c' then p.next_delete else p.event_time end as nat_end
        from paired p
       where p.what = 's' or (p.what = 'c' and p.prev_what is distinct from 'c')
          or (p.what = 'd' and p.prev_what is distinct from 'c')
    )
    select m.exporter, m.protocol, m.src_addr, m.src_port, m.post_src_addr, m.first_port, m.last_port,
           m.nat_start, m.nat_end
      from mappings m
     where tstzrange(m.nat_start, m.nat_end, '[]') && $5
     order by coalesce(m.nat_start, m.nat_end), m.src_addr, m.first_port
  $q$
  using v_address, case when p_public is not null then p_port end, lower(p_period) - v_lookaround,
        upper(p_period) + v_lookaround, p_period, p_public is not null,
        masklen(v_address) = case family(v_address) when 4 then 32 else 128 end;
end;
$$;
comment on function flow.nat_mappings(inet, integer, inet, tstzrange) is
'NAT translations during a period by public address (and port) or by private address, paired from create and
delete events: private and public address, port or port block, start and end.';
revoke all on function flow.nat_mappings(inet, integer, inet, tstzrange) from public;
grant execute on function flow.nat_mappings(inet, integer, inet, tstzrange) to mango_flow;

create or replace function flow.lawful_answer(p_address inet, p_port integer, p_period tstzrange, p_private boolean)
returns table (
    source text, connection_type text, customer_id bigint, customer_no text, customer_name text, contract_no text,
    service_id bigint, service_name text, mac text, connection_start timestamptz, connection_end timestamptz,
    access_point_id bigint, access_point text, access_point_site text, device_id bigint, device_name text,
    ip_address inet, port integer, private_ip inet, private_port integer, public_ip inet, public_port_first integer,
    public_port_last integer, protocol smallint, nat_start timestamptz, nat_end timestamptz
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The holders of the address itself ('assignment' rows), and the NAT translations of the address
-- with the holder of the private address while translated ('nat' rows). p_private: the address is
-- a customer's private address (translations where it is the source) instead of a public one.
-- A translation whose private address nobody held still gives a row, without a subscriber.
begin
  perform flow.check_request(p_address, p_port, p_period);
  return query
    select 'assignment'::text, h.connection_type, h.customer_id, h.customer_no, h.customer_name, h.contract_no,
           h.service_id, h.service_name, h.mac, h.connection_start, h.connection_end, h.access_point_id,
           h.access_point, h.access_point_site, h.device_id, h.device_name, h.address, p_port, null::inet,
           null::integer, null::inet, null::integer, null::integer, null::smallint, null::timestamptz,
           null::timestamptz
      from flow.lawful_holders(p_address, p_period) h
    union all
    select 'nat'::text, h.connection_type, h.customer_id, h.customer_no, h.customer_name, h.contract_no,
           h.service_id, h.service_name, h.mac, h.connection_start, h.connection_end, h.access_point_id,
           h.access_point, h.access_point_site, h.device_id, h.device_name,
           case when p_private then m.private_ip else m.public_ip end, case when p_private then null else p_port end,
           m.private_ip, m.private_port, m.public_ip, m.public_port_first, m.public_port_last, m.protocol,
           m.nat_start, m.nat_end
      from flow.nat_mappings(case when not p_private then p_address end, case when not p_private then p_port end,
                             case when p_private then p_address end, p_period) m
      left join lateral flow.lawful_holders(m.private_ip, tstzrange(m.nat_start, m.nat_end, '[]') * p_period) h
        on true
     order by 1, 25, 10, 19, 3;
end;
$$;
comment on function flow.lawful_answer(inet, integer, tstzrange, boolean) is
'Holders of an address during a period and its NAT translations with the holders of the private addresses.';
revoke all on function flow.lawful_answer(inet, integer, tstzrange, boolean) from public;
grant execute on function flow.lawful_answer(inet, integer, tstzrange, boolean) to mango_flow;

create or replace function flow.lawful_subscribers(p_address inet, p_port integer, p_period tstzrange)
returns table (
    source text, connection_type text, customer_id bigint, customer_no text, customer_name text, contract_no text,
    service_id bigint, service_name text, mac text, connection_start timestamptz, connection_end timestamptz,
    access_point_id bigint, access_point text, access_point_site text, device_id bigint, device_name text,
    ip_address inet, port integer, private_ip inet, private_port integer, public_ip inet, public_port_first integer,
    public_port_last integer, protocol smallint, nat_start timestamptz, nat_end timestamptz
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- source 'assignment': the address was assigned to the subscriber; source 'nat': the address is
  -- a public NAT address and the subscriber held the private address translated to it (for the
  -- port, if given) during the period.
  select * from flow.lawful_answer(p_address, p_port, p_period, false);
$$;
comment on function flow.lawful_subscribers(inet, integer, tstzrange) is
'Who held an address (or, for a public NAT address and port, the private address translated to it) during a
period, with the legally required fields.';
revoke all on function flow.lawful_subscribers(inet, integer, tstzrange) from public;
grant execute on function flow.lawful_subscribers(inet, integer, tstzrange) to mango_flow;

create or replace function flow.lawful_flows(p_address inet, p_port integer, p_period tstzrange, p_limit integer)
returns table (
    flow_start timestamptz, flow_end timestamptz, direction text, exporter inet, protocol smallint, src_addr inet,
    src_port integer, dst_addr inet, dst_port integer, bytes bigint, packets bigint, sampling integer
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Flow records from ('from') or to ('to') the address, and the port on that side if given, that
-- overlap the period [start, end), ordered by start, at most p_limit. Two branches, one per side,
-- each a range over an index of every closed day, (src_addr, flow_start) or (dst_addr, flow_start),
-- read in order and stopped at the limit; the open day is read through its BRIN on flow_start.
-- Partitions outside the period are pruned at planning (the statement is planned with its values).
-- A flow that began up to an hour before the period and ended in it is included (exporters end
-- long flows with an active timeout of at most 30 minutes).
-- $7: a single address (equality on the index) rather than a prefix (a range on it); the
-- condition that does not apply folds away at planning, as does the port when none is given.
begin
  perform flow.check_request(p_address, p_port, p_period);
  if p_limit is null or p_limit < 1 then
    raise exception 'the limit of flow records must be at least 1' using errcode = 'MG722', column = 'flow_limit';
  end if;
  return query execute $q$
    select x.* from (
      (select f.flow_start, f.flow_end, 'from'::text, f.exporter, f.protocol, f.src_addr, f.src_port, f.dst_addr,
              f.dst_port, f.bytes, f.packets, f.sampling
         from flow.flows f
        where ((f.src_addr = $1 and $7) or (f.src_addr <<= $1 and not $7)) and ($2 is null or f.src_port = $2)
          and f.flow_start >= $3 and f.flow_start < $4 and f.flow_end >= $5
        order by f.flow_start
        limit $6)
      union all
      (select f.flow_start, f.flow_end, 'to'::text, f.exporter, f.protocol, f.src_addr, f.src_port, f.dst_addr,
              f.dst_port, f.bytes, f.packets, f.sampling
         from flow.flows f
        where ((f.dst_addr = $1 and $7) or (f.dst_addr <<= $1 and not $7)) and ($2 is null or f.dst_port = $2)
          and not (((f.src_addr = $1 and $7) or (f.src_addr <<= $1 and not $7)) and ($2 is null or f.src_port = $2))
          and f.flow_start >= $3 and f.flow_start < $4 and f.flow_end >= $5
        order by f.flow_start
        limit $6)
    ) x
    order by 1, 2, 3, 6, 7, 8, 9
    limit $6
  $q$
  using p_address, p_port, lower(p_period) - interval '1 hour', upper(p_period), lower(p_period), p_limit,
        masklen(p_address) = case family(p_address) when 4 then 32 else 128 end;
end;
$$;
comment on function flow.lawful_flows(inet, integer, tstzrange, integer) is
'Flow records from or to an address (and port) during a period, ordered by time, at most p_limit.';
revoke all on function flow.lawful_flows(inet, integer, tstzrange, integer) from public;
grant execute on function flow.lawful_flows(inet, integer, tstzrange, integer) to mango_flow;

-- ---------------------------------------------------------------------------------------------
-- Cases

create or replace function flow.check_case_fields(
    p_reference text, p_requesting_body text, p_legal_basis text, p_received_on date, p_deadline date
)
returns void
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if coalesce(btrim(p_reference), '') = '' then
    raise exception 'give the case reference (the requesting body''s file number)'
      using errcode = 'MG720', column = 'reference';
  end if;
  if coalesce(btrim(p_requesting_body), '') = '' then
    raise exception 'give the body that requests the data (police unit, prosecutor, court…)'
      using errcode = 'MG720', column = 'requesting_body';
  end if;
  if coalesce(btrim(p_legal_basis), '') = '' then
    raise exception 'give the legal basis of the request (e.g. § 88a trestního řádu)'
      using errcode = 'MG720', column = 'legal_basis';
  end if;
  if p_deadline < p_received_on then
    raise exception 'the deadline cannot be before the day the request was received'
      using errcode = 'MG720', column = 'deadline';
  end if;
end;
$$;
comment on function flow.check_case_fields(text, text, text, date, date) is
'Refuse a case without reference, requesting body or legal basis, or with a deadline before its receipt.';
revoke all on function flow.check_case_fields(text, text, text, date, date) from public;
grant execute on function flow.check_case_fields(text, text, text, date, date) to mango_flow;

create or replace function flow.open_case(
    p_reference text, p_requesting_body text, p_legal_basis text, p_received_on date default null,
    p_deadline date default null, p_note text default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_uid bigint := flow.require_officer();
  v_received date := coalesce(p_received_on, crm.business_date());
  v_id bigint;
begin
  perform flow.check_case_fields(p_reference, p_requesting_body, p_legal_basis, v_received, p_deadline);
  insert into flow.lawful_cases (reference, requesting_body, legal_basis, officer_id, received_on, deadline, note)
  values (btrim(p_reference), btrim(p_requesting_body), btrim(p_legal_basis), v_uid, v_received, p_deadline,
          nullif(btrim(p_note), ''))
  returning id into v_id;
  return v_id;
end;
$$;
comment on function flow.open_case(text, text, text, date, date, text) is
'Open a lawful request case; the logged-in officer handles it.';
revoke all on function flow.open_case(text, text, text, date, date, text) from public;
grant execute on function flow.open_case(text, text, text, date, date, text) to mango_flow;

create or replace function flow.open_case_state(p_case_id bigint)
returns text
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_state text;
begin
  select c.state into v_state from flow.lawful_cases c where c.id = p_case_id;
  if not found then
    raise exception 'case % does not exist', p_case_id using errcode = 'MG721';
  end if;
  return v_state;
end;
$$;
comment on function flow.open_case_state(bigint) is 'The state of a case; an error if there is no such case.';
revoke all on function flow.open_case_state(bigint) from public;
grant execute on function flow.open_case_state(bigint) to mango_flow;

create or replace function flow.update_case(
    p_case_id bigint, p_reference text, p_requesting_body text, p_legal_basis text, p_received_on date,
    p_deadline date, p_note text
)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  perform flow.require_officer();
  if flow.open_case_state(p_case_id) <> 'open' then
    raise exception 'case % is closed: reopen it to change it', p_case_id using errcode = 'MG721';
  end if;
  perform flow.check_case_fields(p_reference, p_requesting_body, p_legal_basis, p_received_on, p_deadline);
  update flow.lawful_cases
     set reference = btrim(p_reference), requesting_body = btrim(p_requesting_body),
         legal_basis = btrim(p_legal_basis), received_on = coalesce(p_received_on, received_on),
         deadline = p_deadline, note = nullif(btrim(p_note), '')
   where id = p_case_id;
end;
$$;
comment on function flow.update_case(bigint, text, text, text, date, date, text) is
'Correct the details of an open case.';
revoke all on function flow.update_case(bigint, text, text, text, date, date, text) from public;
grant execute on function flow.update_case(bigint, text, text, text, date, date, text) to mango_flow;

create or replace function flow.close_case(p_case_id bigint, p_outcome text, p_note text default null)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  perform flow.require_officer();
  if p_outcome is null or p_outcome not in ('answered', 'refused', 'withdrawn') then
    raise exception 'say how the case ended: answered, refused or withdrawn'
      using errcode = 'MG720', column = 'outcome';
  end if;
  if flow.open_case_state(p_case_id) <> 'open' then
    raise exception 'case % is already closed', p_case_id using errcode = 'MG721';
  end if;
  update flow.lawful_cases
     set state = 'closed', outcome = p_outcome, closed_at = now(),
         note = coalesce(nullif(btrim(p_note), ''), note)
   where id = p_case_id;
end;
$$;
comment on function flow.close_case(bigint, text, text) is
'Close a case as answered, refused or withdrawn; no query can be run for it afterwards.';
revoke all on function flow.close_case(bigint, text, text) from public;
grant execute on function flow.close_case(bigint, text, text) to mango_flow;

create or replace function flow.reopen_case(p_case_id bigint)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  perform flow.require_officer();
  if flow.open_case_state(p_case_id) = 'open' then
    raise exception 'case % is open already', p_case_id using errcode = 'MG721';
  end if;
  update flow.lawful_cases set state = 'open', outcome = null, closed_at = null where id = p_case_id;
end;
$$;
comment on function flow.reopen_case(bigint) is 'Open a closed case again (e.g. the body asks a follow-up question).';
revoke all on function flow.reopen_case(bigint) from public;
grant execute on function flow.reopen_case(bigint) to mango_flow;

create or replace trigger _100_timestamps before update on flow.lawful_cases
for each row execute function audit.tg__updated_at();

-- ---------------------------------------------------------------------------------------------
-- Queries: run, answer kept as a snapshot

create or replace function flow.record_query(
    p_case_id bigint, p_kind text, p_address inet, p_port integer, p_customer_id bigint, p_period tstzrange,
    p_flow_limit integer, p_subscribers jsonb, p_flows jsonb
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The query row (with its counts, written once) and its answer: p_flows holds up to one record
-- more than the limit, which only says that the answer was cut. A period that begins before the
-- retention period is answered with what is left, and said so.
declare
  v_retention interval := flow.retention();
  v_id bigint;
begin
  if lower(p_period) < now() - v_retention then
    raise notice 'flow records and NAT events older than the retention period (%) were destroyed: '
                 'nothing before % is in the answer', v_retention, now() - v_retention;
  end if;
  insert into flow.lawful_queries (case_id, kind, address, port, customer_id, period, flow_limit, run_by, retention,
                                   retained_from, subscriber_rows, nat_rows, flow_rows, flows_truncated)
  values (p_case_id, p_kind, p_address, p_port, p_customer_id, p_period, p_flow_limit, flow.require_officer(),
          v_retention, now() - v_retention, jsonb_array_length(p_subscribers),
          (select count(*) from jsonb_array_elements(p_subscribers) e where e.value ->> 'source' = 'nat'),
          least(jsonb_array_length(p_flows), p_flow_limit), jsonb_array_length(p_flows) > p_flow_limit)
  returning id into v_id;
  insert into flow.lawful_results (query_id, part, position, data)
  select v_id, 'subscribers', e.n, e.value from jsonb_array_elements(p_subscribers) with ordinality e (value, n)
  union all
  select v_id, 'flows', e.n, e.value from jsonb_array_elements(p_flows) with ordinality e (value, n)
   where e.n <= p_flow_limit;
  return v_id;
end;
$$;
comment on function flow.record_query(bigint, text, inet, integer, bigint, tstzrange, integer, jsonb, jsonb) is
'Write a lawful query and its answer (subscriber and flow rows as JSON arrays).';
revoke all on function flow.record_query(bigint, text, inet, integer, bigint, tstzrange, integer, jsonb, jsonb)
from public;
grant execute on function flow.record_query(bigint, text, inet, integer, bigint, tstzrange, integer, jsonb, jsonb)
to mango_flow;

create or replace function flow.query_limits(out default_flow_limit integer, out max_flow_limit integer)
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- How many flow records a lawful query keeps unless told otherwise, and at most.
  select 10000, 1000000;
$$;
comment on function flow.query_limits() is
'The default and the largest limit of flow records a lawful query keeps (the query form shows them).';
revoke all on function flow.query_limits() from public;
grant execute on function flow.query_limits() to mango_flow;

create or replace function flow.check_query_case(p_case_id bigint, p_flow_limit integer)
returns void
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_max integer := (flow.query_limits()).max_flow_limit;
begin
  perform flow.require_officer();
  if flow.open_case_state(p_case_id) <> 'open' then
    raise exception 'case % is closed: reopen it to run another query', p_case_id using errcode = 'MG721';
  end if;
  if p_flow_limit is null or p_flow_limit < 1 or p_flow_limit > v_max then
    raise exception 'the limit of flow records must be a whole number from 1 to %', to_char(v_max, 'FM9,999,999')
      using errcode = 'MG722', column = 'flow_limit';
  end if;
end;
$$;
comment on function flow.check_query_case(bigint, integer) is
'Refuse a query for a closed or unknown case or with a bad limit.';
revoke all on function flow.check_query_case(bigint, integer) from public;
grant execute on function flow.check_query_case(bigint, integer) to mango_flow;

create or replace function flow.run_address_query(
    p_case_id bigint, p_address inet, p_port integer, p_period tstzrange, p_flow_limit integer default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Who held the address (or the private address behind a public NAT address and port) during the
-- period, and the flow records of the address (and port); for a translation of a single port also
-- the flows of the private address and port while translated. Returns the query's id. Without a
-- limit of flow records, the default one (flow.query_limits).
declare
  v_subscribers jsonb;
  v_flows jsonb;
begin
  p_flow_limit := coalesce(p_flow_limit, (flow.query_limits()).default_flow_limit);
  perform flow.check_query_case(p_case_id, p_flow_limit);
  perform flow.check_request(p_address, p_port, p_period);
  select coalesce(jsonb_agg(to_jsonb(s) order by s.source, s.nat_start, s.connection_start, s.private_ip,
                            s.customer_id), '[]')
    into v_subscribers
    from flow.lawful_subscribers(p_address, p_port, p_period) s;
  select coalesce(jsonb_agg(to_jsonb(f) order by f.flow_start, f.flow_end, f.src_addr, f.src_port, f.dst_addr,
                            f.dst_port), '[]')
    into v_flows
    from (
      select a.* from flow.lawful_flows(p_address, p_port, p_period, p_flow_limit + 1) a
      union
      select b.*
        from (select distinct (e.value ->> 'private_ip')::inet as ip, (e.value ->> 'private_port')::integer as port,
                              tstzrange((e.value ->> 'nat_start')::timestamptz, (e.value ->> 'nat_end')::timestamptz,
                                        '[]') * p_period as period
                from jsonb_array_elements(v_subscribers) e
               where e.value ->> 'source' = 'nat' and e.value ->> 'private_port' is not null) t
        cross join lateral flow.lawful_flows(t.ip, t.port, t.period, p_flow_limit + 1) b
       where not isempty(t.period) and not lower_inf(t.period) and not upper_inf(t.period)
      order by 1, 2, 6, 7, 8, 9
      limit p_flow_limit + 1
    ) f;
  return flow.record_query(p_case_id, 'address', p_address, p_port, null, p_period, p_flow_limit, v_subscribers,
                           v_flows);
end;
$$;
comment on function flow.run_address_query(bigint, inet, integer, tstzrange, integer) is
'Run a lawful query by IP address (and port) and time window for a case; the answer is kept. Returns its id.';
revoke all on function flow.run_address_query(bigint, inet, integer, tstzrange, integer) from public;
grant execute on function flow.run_address_query(bigint, inet, integer, tstzrange, integer) to mango_flow;

create or replace function flow.run_customer_query(
    p_case_id bigint, p_customer_id bigint, p_period tstzrange, p_flow_limit integer default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Every address the customer held during the period (net.customer_addresses: only while the
-- customer held the service), with the legally required fields, the NAT translations of those
-- addresses and their flow records. Returns the query's id. Without a limit of flow records, the
-- default one (flow.query_limits).
declare
  v_addresses inet[];
  v_valid tstzrange[];
  v_subscribers jsonb;
  v_flows jsonb;
begin
  p_flow_limit := coalesce(p_flow_limit, (flow.query_limits()).default_flow_limit);
  perform flow.check_query_case(p_case_id, p_flow_limit);
  perform flow.check_period(p_period);
  if p_customer_id is null or not exists (select from crm.customers c where c.id = p_customer_id) then
    raise exception 'there is no such customer' using errcode = 'MG722', column = 'customer';
  end if;
  select array_agg(a.address), array_agg(a.valid)
    into v_addresses, v_valid
    from net.customer_addresses(p_customer_id, p_period) a;
  select coalesce(jsonb_agg(to_jsonb(s) order by s.source, s.nat_start, s.connection_start, s.ip_address,
                            s.private_ip), '[]')
    into v_subscribers
    from unnest(v_addresses, v_valid) as ca (address, valid)
   cross join lateral flow.lawful_answer(ca.address, null, ca.valid, true) s;
  select coalesce(jsonb_agg(to_jsonb(f) order by f.flow_start, f.flow_end, f.src_addr, f.src_port, f.dst_addr,
                            f.dst_port), '[]')
    into v_flows
    from (
      select b.*
        from unnest(v_addresses, v_valid) as ca (address, valid)
       cross join lateral flow.lawful_flows(ca.address, null, ca.valid, p_flow_limit + 1) b
       where not lower_inf(ca.valid) and not upper_inf(ca.valid)
       order by b.flow_start, b.flow_end, b.src_addr, b.src_port, b.dst_addr, b.dst_port
       limit p_flow_limit + 1
    ) f;
  return flow.record_query(p_case_id, 'customer', null, null, p_customer_id, p_period, p_flow_limit, v_subscribers,
                           v_flows);
end;
$$;
comment on function flow.run_customer_query(bigint, bigint, tstzrange, integer) is
'Run a lawful query by customer and period for a case: their addresses, NAT translations and flows; the answer is
kept. Returns its id.';
revoke all on function flow.run_customer_query(bigint, bigint, tstzrange, integer) from public;
grant execute on function flow.run_customer_query(bigint, bigint, tstzrange, integer) to mango_flow;

create or replace function flow.run_customer_query(
    p_case_id bigint, p_customer_id bigint, p_first_day date, p_last_day date, p_flow_limit integer default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The same for whole days: from the first day's midnight to the midnight after the last day, in the
-- time zone of the customer's operator (crm.business_zone).
declare
  v_zone text;
begin
  if p_first_day is null then
    raise exception 'give the first day of the period' using errcode = 'MG722', column = 'period_from';
  end if;
  if p_last_day is null then
    raise exception 'give the last day of the period' using errcode = 'MG722', column = 'period_to';
  end if;
  if p_last_day < p_first_day then
    raise exception 'the last day (%) cannot be before the first (%)', p_last_day, p_first_day
      using errcode = 'MG722', column = 'period_to';
  end if;
  v_zone := crm.business_zone((select c.operator_id from crm.customers c where c.id = p_customer_id));
  return flow.run_customer_query(
    p_case_id, p_customer_id,
    tstzrange(p_first_day::timestamp at time zone v_zone, (p_last_day + 1)::timestamp at time zone v_zone),
    p_flow_limit
  );
end;
$$;
comment on function flow.run_customer_query(bigint, bigint, date, date, integer) is
'Run a lawful query by customer for whole days (first to last, in the operator''s time zone). Returns its id.';
revoke all on function flow.run_customer_query(bigint, bigint, date, date, integer) from public;
grant execute on function flow.run_customer_query(bigint, bigint, date, date, integer) to mango_flow;

-- ---------------------------------------------------------------------------------------------
-- CSV export

create or replace function flow.csv_line(p_fields text[])
returns text
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled.
  select string_agg(case when u.f is null then ''
                         when u.f ~ '[",\r\n]' then '"' || replace(u.f, '"', '""') || '"'
                         else u.f end, ',' order by u.n)
    from unnest(p_fields) with ordinality u (f, n);
$$;
comment on function flow.csv_line(text[]) is 'One CSV line (RFC 4180 quoting) of the fields.';
revoke all on function flow.csv_line(text[]) from public;
grant execute on function flow.csv_line(text[]) to mango_flow;

create or replace function flow.csv_time(p_value text)
returns text
language sql stable security invoker set search_path = pg_catalog, pg_temp set timezone = 'Europe/Prague'
as $$
  -- ISO 8601 in Prague time with its offset, e.g. 2024-02-14T20:00:00+01:00 (milliseconds if any).
  select case when p_value is null then null
              when extract(microseconds from p_value::timestamptz)::bigint % 1000000 = 0
              then to_char(p_value::timestamptz, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')
              else to_char(p_value::timestamptz, 'YYYY-MM-DD"T"HH24:MI:SS.MSTZH:TZM') end;
$$;
comment on function flow.csv_time(text) is 'A JSON timestamp as ISO 8601 in Prague time with its UTC offset.';
revoke all on function flow.csv_time(text) from public;
grant execute on function flow.csv_time(text) to mango_flow;

create or replace function flow.export_query(p_query_id bigint, p_part text)
returns table (line_no integer, line text)
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The CSV file of one part of a query's kept answer ('subscribers': the subscriber and NAT rows,
-- 'flows': the flow records), a header line first; the file is the lines each ended by CRLF, in
-- UTF-8. The export is recorded with the SHA-256 of exactly that file.
declare
  v_uid bigint := flow.require_officer();
  v_lines text[];
begin
  if p_part is null or p_part not in ('subscribers', 'flows') then
    raise exception 'export ''subscribers'' or ''flows'' (got %)', p_part using errcode = 'MG723';
  end if;
  if not exists (select from flow.lawful_queries q where q.id = p_query_id) then
    raise exception 'query % does not exist', p_query_id using errcode = 'MG723';
  end if;
  if p_part = 'subscribers' then
    select array[flow.csv_line(array[
             'source', 'connection_type', 'customer_no', 'customer_name', 'contract_no', 'service_id', 'service',
             'mac', 'connection_start', 'connection_end', 'access_point', 'access_point_site', 'ip_address', 'port',
             'private_ip', 'private_port', 'public_ip', 'public_port_or_range', 'protocol', 'nat_start', 'nat_end'])]
           || coalesce(array_agg(flow.csv_line(array[
             d ->> 'source', d ->> 'connection_type', d ->> 'customer_no', d ->> 'customer_name', d ->> 'contract_no',
             d ->> 'service_id', d ->> 'service_name', d ->> 'mac', flow.csv_time(d ->> 'connection_start'),
             flow.csv_time(d ->> 'connection_end'), d ->> 'access_point', d ->> 'access_point_site',
             d ->> 'ip_address', d ->> 'port', d ->> 'private_ip', d ->> 'private_port', d ->> 'public_ip',
             case when d ->> 'public_port_first' = d ->> 'public_port_last' then d ->> 'public_port_first'
                  else concat_ws('-', d ->> 'public_port_first', d ->> 'public_port_last') end,
             d ->> 'protocol', flow.csv_time(d ->> 'nat_start'), flow.csv_time(d ->> 'nat_end')])
             order by r.position), '{}')
      into v_lines
      from flow.lawful_results r
      cross join lateral (select r.data as d) x
     where r.query_id = p_query_id and r.part = 'subscribers';
  else
    select array[flow.csv_line(array[
             'flow_start', 'flow_end', 'direction', 'exporter', 'protocol', 'src_addr', 'src_port', 'dst_addr',
             'dst_port', 'bytes', 'packets', 'sampling'])]
           || coalesce(array_agg(flow.csv_line(array[
             flow.csv_time(d ->> 'flow_start'), flow.csv_time(d ->> 'flow_end'), d ->> 'direction', d ->> 'exporter',
             d ->> 'protocol', d ->> 'src_addr', d ->> 'src_port', d ->> 'dst_addr', d ->> 'dst_port', d ->> 'bytes',
             d ->> 'packets', d ->> 'sampling'])
             order by r.position), '{}')
      into v_lines
      from flow.lawful_results r
      cross join lateral (select r.data as d) x
     where r.query_id = p_query_id and r.part = 'flows';
  end if;
  insert into flow.lawful_exports (query_id, part, format, row_count, sha256, exported_by)
  values (p_query_id, p_part, 'csv', cardinality(v_lines) - 1,
          encode(sha256(convert_to(array_to_string(v_lines, e'\r\n') || e'\r\n', 'UTF8')), 'hex'), v_uid);
  return query select u.n::integer, u.l from unnest(v_lines) with ordinality u (l, n) order by u.n;
end;
$$;
comment on function flow.export_query(bigint, text) is
'Export one part of a lawful query''s kept answer as CSV lines (header first) and record the export with the
file''s SHA-256.';
revoke all on function flow.export_query(bigint, text) from public;
grant execute on function flow.export_query(bigint, text) to mango_flow;

-- ---------------------------------------------------------------------------------------------
-- Row-level security, grants, audit. Officers read every case (a small team shares them); rows are
-- written only as the logged-in officer, queries, answers and exports are never changed.

alter table flow.lawful_cases enable row level security;
alter table flow.lawful_queries enable row level security;
alter table flow.lawful_results enable row level security;
alter table flow.lawful_exports enable row level security;

-- Every policy asks for a signed-in officer (auth.may('flow')): a role switched to without a
-- session reads and writes nothing.
do $$
declare
  v_table text;
begin
  foreach v_table in array array['lawful_cases', 'lawful_queries', 'lawful_results', 'lawful_exports'] loop
    execute format('drop policy if exists mango_flow_select_all on flow.%I', v_table);
    execute format('drop policy if exists mango_flow_insert_own on flow.%I', v_table);
    execute format('drop policy if exists officers_select_all on flow.%I', v_table);
    execute format('create policy officers_select_all on flow.%I for select to mango_staff '
                   'using ((select auth.may(''flow'')))', v_table);
  end loop;
end;
$$;
drop policy if exists mango_flow_update_all on flow.lawful_cases;
drop policy if exists officers_insert_own on flow.lawful_cases;
create policy officers_insert_own on flow.lawful_cases for insert to mango_staff
with check ((select auth.may('flow')) and officer_id = (select auth.user_id()));
drop policy if exists officers_update_all on flow.lawful_cases;
create policy officers_update_all on flow.lawful_cases for update to mango_staff
using ((select auth.may('flow'))) with check (true);
drop policy if exists officers_insert_own on flow.lawful_queries;
create policy officers_insert_own on flow.lawful_queries for insert to mango_staff
with check ((select auth.may('flow')) and run_by = (select auth.user_id()));
drop policy if exists officers_insert_own on flow.lawful_results;
create policy officers_insert_own on flow.lawful_results for insert to mango_staff
with check ((select auth.may('flow')) and exists (
    select from flow.lawful_queries as q
    where q.id = lawful_results.query_id and q.run_by = (select auth.user_id())
));
drop policy if exists officers_insert_own on flow.lawful_exports;
create policy officers_insert_own on flow.lawful_exports for insert to mango_staff
with check ((select auth.may('flow')) and exported_by = (select auth.user_id()));

-- What an answer names: the subscriber, their service and contract, its addresses, MACs, CPE and
-- access point. Officers read these tables (as every staff user, only with a session: the staff
-- policies name mango_staff, and the officer's mango_as_* role is one) and nothing else of crm or net.
grant select on crm.customers, crm.services, crm.service_moves, crm.contracts, net.ip_assignments, net.mac_assignments,
net.service_devices, net.devices, net.sites, net.links, net.interfaces to mango_flow;
grant select on table catalog.products to mango_flow;
grant execute on function crm.customer_name(crm.customers) to mango_flow;
grant execute on function net.path_to_core(bigint) to mango_flow;

revoke all on flow.lawful_cases, flow.lawful_queries, flow.lawful_results, flow.lawful_exports from public;
grant select on flow.lawful_cases, flow.lawful_queries, flow.lawful_results, flow.lawful_exports to mango_flow;
grant insert (reference, requesting_body, legal_basis, officer_id, received_on, deadline, note)
on flow.lawful_cases to mango_flow;
grant update (reference, requesting_body, legal_basis, received_on, deadline, state, outcome, closed_at, note)
on flow.lawful_cases to mango_flow;
grant insert (
    case_id, kind, address, port, customer_id, period, flow_limit, run_by, retention, retained_from,
    subscriber_rows, nat_rows, flow_rows, flows_truncated
) on flow.lawful_queries to mango_flow;
grant insert on flow.lawful_results to mango_flow;
grant insert (query_id, part, format, row_count, sha256, exported_by) on flow.lawful_exports to mango_flow;

select audit.enable('flow.lawful_cases', array['-updated_at']);
select audit.enable('flow.lawful_queries');
select audit.enable('flow.lawful_exports');
