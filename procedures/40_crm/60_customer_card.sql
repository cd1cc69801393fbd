-- The customer card (CRM-4) as one function: the header and the rows of one tab as JSON.
--
-- The staff web client calls it in the same statement that resumes the session and switches to
-- the user's role (one round trip per page view), and inside a form's transaction to show the
-- card again with the form's errors. It runs as the caller (security invoker): what the role may
-- not read it does not get.

create or replace function crm.tariffs_for_customer(p_customer_id bigint)
returns jsonb
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The tariffs the customer's operator sells, each with what it would cost this customer today on
-- its own (catalog.price_for: the list price less the customer's group discount), for the forms
-- that activate, order or change a tariff.
begin
  return (
    select coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'product', p.name, 'product_id', p.id,
                                                 'class_id', p.class_id, 'price', pf.monthly_with_vat)
                              order by p.name, t.position, t.name), '[]')
      from crm.customers c
      join catalog.products p on p.operator_id = c.operator_id and p.active
      join catalog.tariffs t on t.product_id = p.id and t.active
      left join lateral catalog.price_for(t.id, crm.business_date(c.operator_id), null, c.id) pf on true
     where c.id = p_customer_id);
end;
$$;
comment on function crm.tariffs_for_customer(bigint) is
'The tariffs a customer can order, with what each would cost them today, as JSON.';
revoke all on function crm.tariffs_for_customer(bigint) from public;
grant execute on function crm.tariffs_for_customer(bigint) to mango_office;

create or replace function crm.customer_card(
    p_customer bigint, p_tab text default 'services', p_tariffs boolean default false
)
returns jsonb
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The card of one customer with the tab p_tab open, or null if the caller cannot see the customer.
-- Keys: customer (the header: the customer's columns, name, operator, parent, branches, first
-- e-mail and phone, groups, monthly total of running services, counts per tab) and rows (the
-- tab's rows; a service with its prices, parameters and network: addresses, MACs, devices); the details tab adds params and param_defs, the orders tab services, bundles and
-- tariffs (with prices); p_tariffs adds the operator's tariffs to the services tab (for the
-- change-tariff form).
declare
  v_customer jsonb;
  v_operator bigint;
  v_today date;
  v_card jsonb;
begin
  select to_jsonb(c) || jsonb_build_object(
           'name', crm.customer_name(c), 'operator_name', o.name, 'currency', o.currency,
           'parent', (select jsonb_build_object('id', p.id, 'name', crm.customer_name(p), 'customer_no', p.customer_no)
                        from crm.customers p where p.id = c.parent_id),
           'branches', (select count(*) from crm.customers b where b.parent_id = c.id),
           'email', k.email, 'phone', k.phone,
           'groups', coalesce((select jsonb_agg(g.name order by g.name) from crm.customer_groups cg
                                join crm.groups g on g.id = cg.group_id where cg.customer_id = c.id), '[]'),
           'counts', jsonb_build_object(
             'places', (select count(*) from crm.delivery_places d where d.customer_id = c.id and d.active),
             'contacts', k.count,
             'contracts', (select count(*) from crm.contracts k where k.customer_id = c.id and k.state <> 'terminated'),
             'orders', (select count(*) from catalog.orders r where r.customer_id = c.id
                         and r.stage in ('enquiry', 'offer', 'order', 'accepted')),
             'notes', (select count(*) from crm.customer_notes n where n.customer_id = c.id))),
         c.operator_id
    into v_customer, v_operator
    from crm.customers c
    join crm.operators o on o.id = c.operator_id
    -- The first (primary) e-mail and phone and the number of contacts, in one pass.
    cross join lateral (
      select (array_agg(k.value order by k.is_primary desc, k.id) filter (where k.kind = 'email'))[1] as email,
             (array_agg(k.value order by k.is_primary desc, k.id) filter (where k.kind = 'phone'))[1] as phone,
             count(*) as count
        from crm.contacts k where k.customer_id = c.id) k
   where c.id = p_customer;
  if v_customer is null then
    return null;
  end if;
  v_today := crm.business_date(v_operator);

  if p_tab = 'services' and not exists (select from crm.services s where s.customer_id = p_customer) then
    -- A customer without services (a new one, a prospect) skips the query of the rows: probing
    -- the index costs less than starting that query.
    v_card := jsonb_build_object('rows', '[]'::jsonb, 'monthly', null, 'count', 0);
  elsif p_tab = 'services' then
    -- The rows, and the monthly total of the running ones from the rows' own prices.
    select jsonb_build_object(
             'rows', coalesce(jsonb_agg(to_jsonb(x) order by x.state = 'ended', x.id), '[]'),
             'monthly', sum(x.price) filter (where x.state in ('active', 'blocked')),
             'count', count(*) filter (where x.state <> 'ended'))
      into v_card
      from (
        select s.id, s.state, lower(s.valid) as valid_from, upper(s.valid) as valid_to, s.period_months,
               s.billing_day, s.bill_from, s.bill_separately, s.block_kind, s.block_reason,
               lower(s.suspended) as suspended_from, upper(s.suspended) as suspended_to, s.end_reason, s.note,
               p.name as product, p.class_id, cl.name as class_name, t.id as tariff_id, t.name as tariff,
               pr.monthly_with_vat as price, pr.monthly_without_vat as price_without_vat,
               pr.list_with_vat as list_price, pr.bundle_discount, pr.group_discount, b.name as bundle,
               concat_ws(' ', d.street, d.house_no, d.flat, d.city) as place,
               (select jsonb_agg(jsonb_build_object('tariff', nt.name, 'from', lower(st.valid)) order by lower(st.valid))
                  from crm.service_tariffs st join catalog.tariffs nt on nt.id = st.tariff_id
                 where st.service_id = s.id and lower(st.valid) > v_today) as planned,
               (select jsonb_agg(jsonb_build_object('name', pp.name, 'value', pp.value, 'unit', pp.unit,
                                                    'type', pp.type) order by pp.position, pp.name)
                  from crm.parameters pp where pp.entity = 'service' and pp.entity_id = s.id) as params,
               -- Its network now: addresses and delegated prefixes, MAC addresses, the CPE and the
               -- access device (with the port) that carry it.
               (select jsonb_agg(case when family(a.address) = 4 and masklen(a.address) = 32
                                        or family(a.address) = 6 and masklen(a.address) = 128
                                      then host(a.address) else a.address::text end order by a.address)
                  from net.ip_assignments a where a.service_id = s.id and a.valid @> now()) as addresses,
               (select jsonb_agg(m.mac::text order by m.id)
                  from net.mac_assignments m where m.service_id = s.id and m.valid @> now()) as macs,
               (select jsonb_agg(jsonb_build_object('id', nd.id, 'name', nd.name, 'role', sd.role, 'port', ni.name)
                                 order by sd.role desc, nd.name)
                  from net.service_devices sd
                  join net.devices nd on nd.id = sd.device_id
                  left join net.interfaces ni on ni.id = sd.interface_id
                 where sd.service_id = s.id and upper_inf(sd.valid)) as devices
          from crm.services s
          join catalog.products p on p.id = s.product_id
          join catalog.classes cl on cl.id = p.class_id
          left join lateral catalog.service_price(
            s.id, case when s.state = 'ended' then upper(s.valid) - 1 else greatest(lower(s.valid), v_today) end) pr
            on true
          left join catalog.tariffs t on t.id = coalesce(pr.tariff_id, crm.current_tariff(s.id, v_today))
          left join catalog.bundles b on b.id = s.bundle_id
          left join crm.delivery_places d on d.id = s.delivery_place_id
         where s.customer_id = p_customer) x;
  end if;
  if p_tab = 'services' then
    v_customer := v_customer || jsonb_build_object('monthly', v_card -> 'monthly')
                  || jsonb_build_object('counts', v_customer -> 'counts' || jsonb_build_object('services', v_card -> 'count'));
    v_card := jsonb_build_object('rows', v_card -> 'rows');
    if p_tariffs then
      v_card := v_card || jsonb_build_object('tariffs', crm.tariffs_for_customer(p_customer));
    end if;
    return v_card || jsonb_build_object('customer', v_customer);
  end if;

  -- Every other tab shows the monthly total of the running services and their count too.
  select v_customer || jsonb_build_object(
           'monthly', sum(case when s.state in ('active', 'blocked')
                               then (select pr.monthly_with_vat from catalog.service_price(s.id, v_today) pr) end),
           'counts', v_customer -> 'counts' || jsonb_build_object('services', count(*) filter (where s.state <> 'ended')))
    into v_customer
    from crm.services s where s.customer_id = p_customer;

  case p_tab
  when 'details' then
    select jsonb_build_object(
             'rows', coalesce((
               select jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name,
                                                   'member', exists (select from crm.customer_groups cg
                                                                      where cg.customer_id = p_customer and cg.group_id = g.id))
                                order by g.name) from crm.groups g), '[]'),
             'params', coalesce((select jsonb_object_agg(p.code, p.value) from crm.parameters p
                                  where p.entity = 'customer' and p.entity_id = p_customer), '{}'),
             'param_defs', coalesce((
               select jsonb_agg(to_jsonb(d) order by d.position, d.name)
                 from crm.parameter_definitions d where d.entity = 'customer' and d.active), '[]'))
      into v_card;
  when 'places' then
    select jsonb_build_object('rows', coalesce(jsonb_agg(to_jsonb(d) || jsonb_build_object(
             'services', (select count(*) from crm.services s where s.delivery_place_id = d.id and s.state <> 'ended'))
             order by d.active desc, d.id), '[]'))
      into v_card
      from crm.delivery_places d where d.customer_id = p_customer;
  when 'contacts' then
    select jsonb_build_object('rows', coalesce(jsonb_agg(to_jsonb(k) order by k.kind, k.is_primary desc, k.id), '[]'))
      into v_card
      from crm.contacts k where k.customer_id = p_customer;
  when 'contracts' then
    select jsonb_build_object('rows', coalesce(jsonb_agg(to_jsonb(k) || jsonb_build_object(
             'services', (select count(*) from crm.services s where s.contract_id = k.id))
             order by k.valid_from desc, k.id desc), '[]'))
      into v_card
      from crm.contracts k where k.customer_id = p_customer;
  when 'orders' then
    select jsonb_build_object(
             'rows', coalesce((
               select jsonb_agg(to_jsonb(r) || jsonb_build_object(
                        'tariff', t.name, 'bundle', b.name, 'salesperson', u.full_name,
                        'service', (select concat_ws(' · ', p.name, ct.name) from crm.services s
                                      join catalog.products p on p.id = s.product_id
                                      left join catalog.tariffs ct on ct.id = crm.current_tariff(s.id, v_today)
                                     where s.id = r.service_id),
                        'events', (select jsonb_agg(jsonb_build_object('stage', e.stage, 'note', e.note,
                                                                       'at', e.created_at, 'who', eu.full_name)
                                                    order by e.id)
                                     from catalog.order_events e left join auth.users eu on eu.id = e.user_id
                                    where e.order_id = r.id))
                        order by r.id desc)
                 from catalog.orders r
                 left join catalog.tariffs t on t.id = r.tariff_id
                 left join catalog.bundles b on b.id = r.bundle_id
                 left join auth.users u on u.id = r.salesperson_id
                where r.customer_id = p_customer), '[]'),
             'tariffs', crm.tariffs_for_customer(p_customer),
             'services', coalesce((
               select jsonb_agg(jsonb_build_object('id', s.id, 'product', p.name, 'tariff', t.name, 'state', s.state)
                                order by s.id)
                 from crm.services s
                 join catalog.products p on p.id = s.product_id
                 left join catalog.tariffs t on t.id = crm.current_tariff(s.id, v_today)
                where s.customer_id = p_customer and s.state <> 'ended'), '[]'),
             'bundles', coalesce((
               select jsonb_agg(jsonb_build_object('id', b.id, 'name', b.name) order by b.name)
                 from catalog.bundles b where b.operator_id = v_operator and b.active), '[]'))
      into v_card;
  when 'notes' then
    select jsonb_build_object('rows', coalesce(jsonb_agg(jsonb_build_object('id', n.id, 'body', n.body,
                                                                            'at', n.created_at, 'who', u.full_name)
                                                         order by n.id desc), '[]'))
      into v_card
      from crm.customer_notes n left join auth.users u on u.id = n.created_by
     where n.customer_id = p_customer;
  when 'history' then
    select jsonb_build_object('rows', coalesce(jsonb_agg(to_jsonb(h) order by h.id desc), '[]'))
      into v_card
      from (
        select h.* from audit.history h
         where (h.table_schema, h.table_name, h.record_id) in (
                 select 'crm', 'customers', p_customer::text
                 union all select 'crm', 'services', s.id::text from crm.services s where s.customer_id = p_customer
                 union all select 'crm', 'service_tariffs', st.id::text
                             from crm.service_tariffs st join crm.services s on s.id = st.service_id
                            where s.customer_id = p_customer
                 union all select 'crm', 'contacts', k.id::text from crm.contacts k where k.customer_id = p_customer
                 union all select 'crm', 'delivery_places', d.id::text from crm.delivery_places d
                            where d.customer_id = p_customer
                 union all select 'crm', 'contracts', k.id::text from crm.contracts k where k.customer_id = p_customer
                 union all select 'catalog', 'orders', r.id::text from catalog.orders r where r.customer_id = p_customer
                 union all select 'crm', 'parameter_values', v.id::text from crm.parameter_values v
                             join crm.parameter_definitions pd on pd.id = v.definition_id
                            where pd.entity = 'customer' and v.entity_id = p_customer)
         order by h.id desc limit 200) h;
  else
    raise exception 'The customer card has no tab "%".', p_tab
      using errcode = 'MG001', hint = 'services, details, places, contacts, contracts, orders, notes or history';
  end case;
  return v_card || jsonb_build_object('customer', v_customer);
end;
$$;
comment on function crm.customer_card(bigint, text, boolean) is
'The customer card: header, counts and one tab''s rows as JSON (null if the caller cannot see the customer).';
revoke all on function crm.customer_card(bigint, text, boolean) from public;
-- mango_web: the web client names the function in the statement that switches to the user's role,
-- and execute is checked before the switch; the function itself runs as the user.
grant execute on function crm.customer_card(bigint, text, boolean) to mango_office, mango_web;

create or replace function crm.service_actions(p_customer bigint, p_service bigint)
returns jsonb
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- What a service's actions menu needs when it is fetched on its own (the card renders it in place
-- for the service asked for): the service's state, end and tariff, and the tariffs to change to.
-- Null if the caller cannot see the service or it is not the customer's.
begin
  return (
    select jsonb_build_object(
             'customer', jsonb_build_object('id', s.customer_id),
             'service', jsonb_build_object('id', s.id, 'state', s.state, 'valid_to', upper(s.valid),
                                           'tariff_id', crm.current_tariff(s.id, crm.business_date(s.operator_id))),
             'tariffs', crm.tariffs_for_customer(s.customer_id))
      from crm.services s
     where s.id = p_service and s.customer_id = p_customer);
end;
$$;
comment on function crm.service_actions(bigint, bigint) is
'A service''s state and the tariffs to change to, as JSON for its actions menu.';
revoke all on function crm.service_actions(bigint, bigint) from public;
-- mango_web: named in the statement that switches to the user's role (see crm.customer_card).
grant execute on function crm.service_actions(bigint, bigint) to mango_office, mango_web;
