-- Service instances (CAT-4): ordered → active → blocked/suspended → ended; every change goes
-- through a function, is audited and tells the provisioning agents through the bus.

create or replace function crm.tg_services__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_customer crm.customers;
begin
  select p.operator_id into new.operator_id from catalog.products p where p.id = new.product_id;
  select * into v_customer from crm.customers where id = new.customer_id;
  if lower(new.valid) < v_customer.created_on then
    raise exception 'a service cannot start (%) before its customer exists (%)', lower(new.valid), v_customer.created_on
      using errcode = 'MG006', column = 'valid';
  end if;
  if v_customer.state = 'ended' and new.state <> 'ended'
     and (tg_op = 'INSERT' or old.state = 'ended' or old.customer_id <> new.customer_id) then
    raise exception 'customer % has ended: restore the customer first', v_customer.customer_no
      using errcode = 'MG006', column = 'customer_id';
  end if;
  if v_customer.ended_on is not null and (upper_inf(new.valid) or upper(new.valid) > v_customer.ended_on)
     and new.state <> 'ended' then
    raise exception 'a service cannot run after its customer ended (%)', v_customer.ended_on
      using errcode = 'MG006', column = 'valid';
  end if;
  if new.delivery_place_id is not null
     and not exists (select from crm.delivery_places d where d.id = new.delivery_place_id and d.customer_id = new.customer_id)
  then
    raise exception 'delivery place % is not a place of this customer', new.delivery_place_id
      using errcode = 'MG006', column = 'delivery_place_id';
  end if;
  if new.contract_id is not null
     and not exists (select from crm.contracts k where k.id = new.contract_id and k.customer_id = new.customer_id) then
    raise exception 'contract % is not a contract of this customer', new.contract_id
      using errcode = 'MG006', column = 'contract_id';
  end if;
  -- Billing plan (BIL-1): the operator's default unless one is chosen; a chosen one is an active
  -- plan of the service's operator.
  if new.billing_plan_id is null then
    select p.id into new.billing_plan_id from billing.plans p where p.operator_id = new.operator_id and p.is_default;
  elsif tg_op = 'INSERT' or new.billing_plan_id is distinct from old.billing_plan_id then
    if not exists (select from billing.plans p
                    where p.id = new.billing_plan_id and p.operator_id = new.operator_id and p.active) then
      raise exception 'billing plan % is not an active plan of the service''s operator', new.billing_plan_id
        using errcode = 'MG006', column = 'billing_plan_id';
    end if;
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function crm.tg_services__validate() is
'A service lives within its customer''s life, at the customer''s places.';
revoke all on function crm.tg_services__validate() from public;

create or replace trigger _500_validate before insert or update on crm.services
for each row execute function crm.tg_services__validate();

create or replace function crm.tg_services__enqueue_provisioning()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes the outbox (bus.enqueue), which only the database's own code may.
-- One outbox row per service (coalesced); the agents read the current state when they handle it.
begin
  if tg_op = 'UPDATE' and (old.state, old.valid, old.customer_id, old.product_id, old.suspended, old.delivery_place_id)
                      is not distinct from
                      (new.state, new.valid, new.customer_id, new.product_id, new.suspended, new.delivery_place_id) then
    return null;
  end if;
  perform bus.enqueue('provisioning', 'service:' || new.id,
                      jsonb_build_object('service_id', new.id, 'state', new.state, 'customer_id', new.customer_id));
  return null;
end;
$$;
comment on function crm.tg_services__enqueue_provisioning() is 'Tell the provisioning agents that a service changed.';
revoke all on function crm.tg_services__enqueue_provisioning() from public;

create or replace function crm.tg_service_tariffs__enqueue_provisioning()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes the outbox (bus.enqueue), which only the database's own code may.
begin
  perform bus.enqueue('provisioning', 'service:' || new.service_id, jsonb_build_object('service_id', new.service_id));
  return null;
end;
$$;
comment on function crm.tg_service_tariffs__enqueue_provisioning() is 'A service''s tariff changed: tell provisioning.';
revoke all on function crm.tg_service_tariffs__enqueue_provisioning() from public;

create or replace trigger _900_enqueue_provisioning after insert or update on crm.services
for each row execute function crm.tg_services__enqueue_provisioning();
create or replace trigger _900_enqueue_provisioning after insert or update on crm.service_tariffs
for each row execute function crm.tg_service_tariffs__enqueue_provisioning();

create or replace function crm.tg_parameter_values__enqueue_provisioning()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes the outbox (bus.enqueue), which only the database's own code may.
declare
  v_row crm.parameter_values := coalesce(new, old);
begin
  if exists (select from crm.parameter_definitions d where d.id = v_row.definition_id and d.entity = 'service') then
    perform bus.enqueue('provisioning', 'service:' || v_row.entity_id, jsonb_build_object('service_id', v_row.entity_id));
  end if;
  return null;
end;
$$;
comment on function crm.tg_parameter_values__enqueue_provisioning() is
'A service parameter changed: tell provisioning.';
revoke all on function crm.tg_parameter_values__enqueue_provisioning() from public;

create or replace trigger _900_enqueue_provisioning after insert or update or delete on crm.parameter_values
for each row execute function crm.tg_parameter_values__enqueue_provisioning();

create or replace function crm.tariff_on(p_service_id bigint, p_on date default crm.business_date())
returns table (tariff_id bigint)
language sql stable security invoker
as $$
  -- The tariff a service has on a date (its last one if it ended before): one row or none.
  -- [inlined]: no `set search_path`, so that the planner inlines it (see catalog.tariff_price).
  select st.tariff_id from crm.service_tariffs st
   where st.service_id = p_service_id and (st.valid @> p_on or (upper(st.valid) <= p_on))
   order by (st.valid @> p_on) desc, lower(st.valid) desc
   limit 1;
$$;
comment on function crm.tariff_on(bigint, date) is
'The tariff a service has on a date (its last one if it ended), as a row to join. [inlined]';
revoke all on function crm.tariff_on(bigint, date) from public;
grant execute on function crm.tariff_on(bigint, date) to mango_office, mango_agent, mango_customer;

create or replace function crm.current_tariff(p_service_id bigint, p_on date default crm.business_date())
returns bigint
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The same as crm.tariff_on, as a value. PL/pgSQL keeps its plan for the session (a SQL
-- function with `set search_path` would be planned again in every query that calls it).
begin
  return (select t.tariff_id from crm.tariff_on(p_service_id, p_on) t);
end;
$$;
comment on function crm.current_tariff(bigint, date) is
'The tariff a service has on a date (its last one if it ended).';
revoke all on function crm.current_tariff(bigint, date) from public;
grant execute on function crm.current_tariff(bigint, date) to mango_office, mango_agent, mango_customer;

create or replace function crm.activate_service(
    p_customer_id bigint, p_tariff_id bigint, p_from date, p_delivery_place_id bigint default null,
    p_options jsonb default '{}'
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Options: state ('active' or 'ordered'), period_months, billing_day, bill_from, bill_separately,
-- contract_id, billing_plan_id, bundle_id, note, params {code: value}.
declare
  v_tariff catalog.tariffs;
  v_product catalog.products;
  v_id bigint;
  v_state text;
begin
  select * into v_tariff from catalog.tariffs where id = p_tariff_id;
  if not found or not v_tariff.active then
    raise exception 'tariff % does not exist or is not sold any more', p_tariff_id using errcode = 'MG006', column = 'tariff_id';
  end if;
  select * into v_product from catalog.products where id = v_tariff.product_id;
  if not v_product.active then
    raise exception 'product % is not sold any more', v_product.name using errcode = 'MG006', column = 'tariff_id';
  end if;
  if catalog.tariff_price(p_tariff_id, p_from) is null then
    raise exception 'tariff % has no price on %', v_tariff.name, p_from using errcode = 'MG006', column = 'tariff_id';
  end if;
  v_state := coalesce(p_options ->> 'state',
                      case when p_from <= crm.business_date(v_product.operator_id) then 'active' else 'ordered' end);
  if v_state not in ('active', 'ordered') then
    raise exception 'a new service is active or ordered, not %', v_state using errcode = 'MG006';
  end if;
  insert into crm.services (customer_id, product_id, operator_id, delivery_place_id, contract_id, bundle_id, state,
                            valid, billing_plan_id, period_months, billing_day, bill_from, bill_separately, note)
  values (p_customer_id, v_product.id, v_product.operator_id, p_delivery_place_id,
          (p_options ->> 'contract_id')::bigint, (p_options ->> 'bundle_id')::bigint, v_state,
          daterange(p_from, null), (p_options ->> 'billing_plan_id')::bigint,
          coalesce((p_options ->> 'period_months')::integer, 1), coalesce((p_options ->> 'billing_day')::integer, 1),
          coalesce((p_options ->> 'bill_from')::date, p_from), coalesce((p_options ->> 'bill_separately')::boolean, false),
          p_options ->> 'note')
  returning id into v_id;
  insert into crm.service_tariffs (service_id, tariff_id, valid) values (v_id, p_tariff_id, daterange(p_from, null));
  perform crm.set_parameters('service', v_id, p_options -> 'params');
  return v_id;
end;
$$;
comment on function crm.activate_service(bigint, bigint, date, bigint, jsonb) is
'Activate (or order) a service of a tariff for a customer from a date.';
revoke all on function crm.activate_service(bigint, bigint, date, bigint, jsonb) from public;
grant execute on function crm.activate_service(bigint, bigint, date, bigint, jsonb)
to mango_support, mango_sales, mango_billing, mango_agent_scheduler;

create or replace function crm.activate_bundle(
    p_customer_id bigint, p_bundle_id bigint, p_from date, p_delivery_place_id bigint default null,
    p_options jsonb default '{}'
)
returns bigint[]
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_ids bigint [] := '{}'::bigint [];
  v_item catalog.bundle_items;
begin
  if not exists (select from catalog.bundles where id = p_bundle_id and active) then
    raise exception 'bundle % does not exist or is not sold any more', p_bundle_id using errcode = 'MG006', column = 'bundle_id';
  end if;
  for v_item in select * from catalog.bundle_items where bundle_id = p_bundle_id order by id loop
    v_ids := v_ids || crm.activate_service(p_customer_id, v_item.tariff_id, p_from, p_delivery_place_id,
                                           coalesce(p_options, '{}') - 'params' || jsonb_build_object('bundle_id', p_bundle_id));
  end loop;
  return v_ids;
end;
$$;
comment on function crm.activate_bundle(bigint, bigint, date, bigint, jsonb) is
'Activate every service of a bundle in one step.';
revoke all on function crm.activate_bundle(bigint, bigint, date, bigint, jsonb) from public;
grant execute on function crm.activate_bundle(bigint, bigint, date, bigint, jsonb)
to mango_support, mango_sales, mango_billing, mango_agent_scheduler;

create or replace function crm.change_tariff(p_service_id bigint, p_tariff_id bigint, p_on date)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The running tariff period ends the day before p_on; the new tariff runs from p_on.
declare
  v_service crm.services;
  v_period crm.service_tariffs;
  v_product_id bigint;
begin
  select * into v_service from crm.services where id = p_service_id for update;
  if not found or v_service.state = 'ended' then
    raise exception 'service % is ended or not visible to you', p_service_id using errcode = 'MG004';
  end if;
  if not v_service.valid @> p_on then
    raise exception 'the tariff can change only while the service runs (%)', v_service.valid using errcode = 'MG006';
  end if;
  select product_id into v_product_id from catalog.tariffs where id = p_tariff_id and active;
  if not found then
    raise exception 'tariff % does not exist or is not sold any more', p_tariff_id using errcode = 'MG006', column = 'tariff_id';
  end if;
  if catalog.tariff_price(p_tariff_id, p_on) is null then
    raise exception 'tariff % has no price on %', p_tariff_id, p_on using errcode = 'MG006', column = 'tariff_id';
  end if;
  select * into v_period from crm.service_tariffs where service_id = p_service_id and valid @> p_on;
  if v_period.tariff_id = p_tariff_id then
    raise exception 'the service already has this tariff' using errcode = 'MG006', column = 'tariff_id';
  end if;
  -- Later planned periods give way to the new tariff.
  delete from crm.service_tariffs where service_id = p_service_id and lower(valid) > p_on;
  if lower(v_period.valid) = p_on then
    update crm.service_tariffs set tariff_id = p_tariff_id, valid = daterange(p_on, upper(v_service.valid))
     where id = v_period.id;
  else
    update crm.service_tariffs set valid = daterange(lower(valid), p_on) where id = v_period.id;
    insert into crm.service_tariffs (service_id, tariff_id, valid)
    values (p_service_id, p_tariff_id, daterange(p_on, upper(v_service.valid)));
  end if;
  update crm.services set product_id = v_product_id where id = p_service_id and product_id <> v_product_id;
end;
$$;
comment on function crm.change_tariff(bigint, bigint, date) is
'Move a service to another tariff from a date (transfer).';
revoke all on function crm.change_tariff(bigint, bigint, date) from public;
grant execute on function crm.change_tariff(bigint, bigint, date)
to mango_support, mango_sales, mango_billing, mango_agent_scheduler;

create or replace function crm.block_service(p_service_id bigint, p_kind text, p_reason text)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if p_kind not in ('manual', 'system') then
    raise exception 'a block is manual or system, not %', p_kind using errcode = 'MG006';
  end if;
  update crm.services set state = 'blocked', block_kind = p_kind, block_reason = p_reason
   where id = p_service_id and state in ('active', 'blocked')
     and not (state = 'blocked' and block_kind = 'manual' and p_kind = 'system');
  if not found then
    raise exception 'service % is not running (or is blocked by a person) and cannot be blocked', p_service_id
      using errcode = 'MG004';
  end if;
end;
$$;
comment on function crm.block_service(bigint, text, text) is
'Block a running service (manual by a person, system by automation).';
revoke all on function crm.block_service(bigint, text, text) from public;
grant execute on function crm.block_service(bigint, text, text) to mango_support, mango_billing, mango_agent_scheduler;

create or replace function crm.unblock_service(p_service_id bigint, p_kind text default 'manual')
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A block set by a person is never lifted by the automation (p_kind 'system').
declare
  v_service crm.services;
begin
  select * into v_service from crm.services where id = p_service_id for update;
  if not found or v_service.state <> 'blocked' then
    raise exception 'service % is not blocked', p_service_id using errcode = 'MG004';
  end if;
  if v_service.block_kind = 'manual' and p_kind = 'system' then
    raise exception 'service % was blocked by a person; only a person can unblock it', p_service_id
      using errcode = 'MG006';
  end if;
  update crm.services set state = 'active', block_kind = null, block_reason = null where id = p_service_id;
end;
$$;
comment on function crm.unblock_service(bigint, text) is 'Lift a block (the automation cannot lift a person''s block).';
revoke all on function crm.unblock_service(bigint, text) from public;
grant execute on function crm.unblock_service(bigint, text) to mango_support, mango_billing, mango_agent_scheduler;

create or replace function crm.suspend_service(p_service_id bigint, p_from date, p_until date, p_reason text)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Suspension stops the service and its billing for the period (DUN-4).
begin
  if p_until is not null and p_until <= p_from then
    raise exception 'a suspension ends after it starts' using errcode = 'MG006', column = 'suspended';
  end if;
  update crm.services set state = 'suspended', suspended = daterange(p_from, p_until), block_reason = p_reason
   where id = p_service_id and state = 'active';
  if not found then
    raise exception 'service % is not active and cannot be suspended', p_service_id using errcode = 'MG004';
  end if;
end;
$$;
comment on function crm.suspend_service(bigint, date, date, text) is
'Suspend an active service and its billing for a period.';
revoke all on function crm.suspend_service(bigint, date, date, text) from public;
grant execute on function crm.suspend_service(bigint, date, date, text) to mango_support, mango_billing;

create or replace function crm.resume_service(p_service_id bigint)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  update crm.services
     set state = 'active', block_reason = null,
         suspended = case when upper_inf(suspended) or upper(suspended) > crm.business_date(operator_id)
                          then daterange(lower(suspended), greatest(crm.business_date(operator_id), lower(suspended) + 1))
                          else suspended end
   where id = p_service_id and state = 'suspended';
  if not found then
    raise exception 'service % is not suspended', p_service_id using errcode = 'MG004';
  end if;
end;
$$;
comment on function crm.resume_service(bigint) is 'End a suspension now.';
revoke all on function crm.resume_service(bigint) from public;
grant execute on function crm.resume_service(bigint) to mango_support, mango_billing, mango_agent_scheduler;

create or replace function crm.end_service(p_service_id bigint, p_end date, p_reason text)
returns crm.services
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The service runs until the day before p_end. A future date schedules the end; the scheduler
-- ends it on the day (crm.apply_due_service_dates). The end cannot be before the service began;
-- ended on the day it began, it lasts that day.
declare
  v_service crm.services;
begin
  if p_end is null then
    raise exception 'give the date the service ends' using errcode = 'MG004', column = 'valid';
  end if;
  select * into v_service from crm.services where id = p_service_id and upper_inf(valid) and state <> 'ended';
  if found and p_end < lower(v_service.valid) then
    raise exception 'service % began on %: it cannot end before that', p_service_id, lower(v_service.valid)
      using errcode = 'MG004', column = 'valid';
  end if;
  update crm.services
     set valid = daterange(lower(valid), greatest(p_end, lower(valid) + 1)), end_reason = p_reason,
         state = case when p_end <= crm.business_date(operator_id) then 'ended' else state end,
         block_kind = case when p_end <= crm.business_date(operator_id) then null else block_kind end
   where id = p_service_id and upper_inf(valid) and state <> 'ended'
  returning * into v_service;
  if not found then
    raise exception 'service % is already ended or not visible to you', p_service_id using errcode = 'MG004';
  end if;
  delete from crm.service_tariffs where service_id = p_service_id and lower(valid) >= upper(v_service.valid);
  update crm.service_tariffs set valid = daterange(lower(valid), upper(v_service.valid))
   where service_id = p_service_id and upper_inf(valid);
  return v_service;  -- the _900_enqueue_provisioning trigger tells the agents
end;
$$;
comment on function crm.end_service(bigint, date, text) is 'End a running service on a date (or schedule its end).';
revoke all on function crm.end_service(bigint, date, text) from public;
grant execute on function crm.end_service(bigint, date, text)
to mango_support, mango_sales, mango_billing, mango_agent_scheduler;

create or replace function crm.restore_service(p_service_id bigint)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- An ended (or end-scheduled) service runs again, open-ended, with its last tariff.
declare
  v_end date;
begin
  select upper(valid) into v_end from crm.services where id = p_service_id and not upper_inf(valid);
  if not found then
    raise exception 'service % has no end to undo', p_service_id using errcode = 'MG004';
  end if;
  update crm.services set valid = daterange(lower(valid), null), state = 'active', end_reason = null,
                          block_kind = null, block_reason = null
   where id = p_service_id;
  update crm.service_tariffs set valid = daterange(lower(valid), null)
   where service_id = p_service_id and upper(valid) = v_end;
end;
$$;
comment on function crm.restore_service(bigint) is 'Undo the end of a service; its history stays.';
revoke all on function crm.restore_service(bigint) from public;
grant execute on function crm.restore_service(bigint) to mango_support, mango_sales, mango_billing;

create or replace function crm.move_service(p_service_id bigint, p_to_customer_id bigint, p_on date, p_reason text)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The service keeps its id, tariffs, parameters and history; only the customer changes.
declare
  v_from bigint;
begin
  select customer_id into v_from from crm.services where id = p_service_id and state <> 'ended' for update;
  if not found then
    raise exception 'service % is ended or not visible to you', p_service_id using errcode = 'MG004';
  end if;
  if v_from = p_to_customer_id then
    raise exception 'the service already belongs to this customer' using errcode = 'MG006', column = 'customer_id';
  end if;
  insert into crm.service_moves (service_id, from_customer_id, to_customer_id, moved_on, reason)
  values (p_service_id, v_from, p_to_customer_id, p_on, p_reason);
  update crm.services set customer_id = p_to_customer_id, delivery_place_id = null, contract_id = null
   where id = p_service_id;
end;
$$;
comment on function crm.move_service(bigint, bigint, date, text) is
'Move a service to another customer, keeping its history.';
revoke all on function crm.move_service(bigint, bigint, date, text) from public;
grant execute on function crm.move_service(bigint, bigint, date, text) to mango_support, mango_sales, mango_billing;

create or replace function crm.apply_due_service_dates(p_today date default null)
returns integer
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Set-based daily step: ordered services whose start came become active, scheduled ends take
-- effect, suspensions whose period is over resume. By default on each operator's business date.
declare
  v_count integer;
  v_total integer := 0;
begin
  update crm.services set state = 'active'
   where state = 'ordered' and lower(valid) <= coalesce(p_today, crm.business_date(operator_id)) and
         (upper_inf(valid) or upper(valid) > coalesce(p_today, crm.business_date(operator_id)));
  get diagnostics v_count = row_count;
  v_total := v_total + v_count;
  update crm.services set state = 'ended', block_kind = null
   where state <> 'ended' and not upper_inf(valid) and upper(valid) <= coalesce(p_today, crm.business_date(operator_id));
  get diagnostics v_count = row_count;
  v_total := v_total + v_count;
  update crm.services set state = 'active', block_reason = null
   where state = 'suspended' and not upper_inf(suspended)
     and upper(suspended) <= coalesce(p_today, crm.business_date(operator_id));
  get diagnostics v_count = row_count;
  return v_total + v_count;
end;
$$;
comment on function crm.apply_due_service_dates(date) is
'Daily: start ordered services, end scheduled ones, resume suspensions.';
revoke all on function crm.apply_due_service_dates(date) from public;
grant execute on function crm.apply_due_service_dates(date) to mango_agent_scheduler, mango_admin;

alter table crm.services enable row level security;
alter table crm.service_tariffs enable row level security;
alter table crm.service_moves enable row level security;
do $$
declare
  v_table text;
begin
  foreach v_table in array array['services', 'service_tariffs', 'service_moves'] loop
    execute format('drop policy if exists staff_select_all on crm.%I', v_table);
    execute format('create policy staff_select_all on crm.%I for select to mango_staff, mango_agent_scheduler, '
                   'mango_agent_documents, mango_agent_provisioner using (true)', v_table);
    execute format('drop policy if exists front_write_all on crm.%I', v_table);
    execute format('create policy front_write_all on crm.%I for all to mango_staff, mango_agent_scheduler '
                   'using (true) with check (true)', v_table);
    execute format('grant select on crm.%I to mango_office, mango_agent_scheduler, mango_agent_documents, '
                   'mango_agent_provisioner', v_table);
    execute format('select audit.enable(%L)', 'crm.' || v_table);
  end loop;
end;
$$;
grant insert, update on crm.services, crm.service_moves to mango_support, mango_sales, mango_billing;
grant insert, update, delete on crm.service_tariffs to mango_support, mango_sales, mango_billing;
-- The scheduler carries out accepted orders on their date (catalog.apply_due_orders).
grant insert, update on crm.services to mango_agent_scheduler;
grant insert, update, delete on crm.service_tariffs to mango_agent_scheduler;
grant update (state, block_kind, block_reason, suspended, valid, updated_at) on crm.services to mango_agent_scheduler;

create or replace view crm.service_owners
with (security_invoker = true)
as
-- Which customer held a service over which period: services move between customers (CRM-5).
with moves as (
    select
        m.service_id,
        m.from_customer_id,
        m.to_customer_id,
        m.moved_on,
        lag(m.moved_on) over (partition by m.service_id order by m.moved_on, m.id) as previous_move
    from crm.service_moves as m
)

select
    s.id as service_id,
    s.customer_id,
    daterange(null, null) as held
from crm.services as s
where
    not exists (
        select from crm.service_moves as m
        where m.service_id = s.id
    )
union all
select
    moves.service_id,
    moves.from_customer_id,
    daterange(moves.previous_move, moves.moved_on) as held
from moves
union all
select
    last_move.service_id,
    last_move.to_customer_id,
    daterange(last_move.moved_on, null) as held
from (
    select distinct on (service_id)
        service_id,
        to_customer_id,
        moved_on
    from crm.service_moves
    order by service_id asc, moved_on desc, id desc
) as last_move;
comment on view crm.service_owners is 'Which customer held each service over which period (moves included).';
grant select on crm.service_owners to mango_office, mango_agent_scheduler, mango_agent_provisioner, mango_flow;
