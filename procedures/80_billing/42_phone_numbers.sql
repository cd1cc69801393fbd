-- The phone numbers of voice services over time (billing.phone_numbers), kept from the service's
-- phone_number parameter: staff type the number once, on the service; this history says which
-- service held a number when a call began. A service's first number is held from the service's
-- first day (calls imported late for its first days still find it), a changed number from the
-- moment of the change; a number whose service has ended is let go at that service's end when
-- another service takes it; a number another live service holds is refused.

create or replace function billing.release_phone_number(p_service_id bigint, p_at timestamptz)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The service stops holding its number at p_at (a holding that would begin later is removed).
begin
  delete from billing.phone_numbers n where n.service_id = p_service_id and lower(n.valid) >= p_at;
  update billing.phone_numbers n set valid = tstzrange(lower(n.valid), p_at)
   where n.service_id = p_service_id and n.valid @> p_at;
end;
$$;
comment on function billing.release_phone_number(bigint, timestamptz) is
'A voice service stops holding its phone number at a moment.';
revoke all on function billing.release_phone_number(bigint, timestamptz) from public;

create or replace function billing.hold_phone_number(p_service_id bigint, p_number text, p_at timestamptz)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The service holds the number (E.164) from p_at, or from its first day if it never held one, until
-- its end.
declare
  v_service crm.services;
  v_zone text;
  v_begin timestamptz;
  v_end timestamptz;
  v_holder bigint;
begin
  if p_number is null then
    raise exception 'not a phone number (give it as +420 and nine digits, or nine digits)'
      using errcode = 'MG855', column = 'phone_number';
  end if;
  select s.* into strict v_service from crm.services s where s.id = p_service_id;
  v_zone := crm.business_zone(v_service.operator_id);
  v_begin := lower(v_service.valid)::timestamp at time zone v_zone;
  if exists (select from billing.phone_numbers n where n.service_id = p_service_id) then
    v_begin := greatest(v_begin, p_at);
  end if;
  v_end := case when not upper_inf(v_service.valid) then upper(v_service.valid)::timestamp at time zone v_zone end;
  -- Services that have ended let the number go at their end.
  update billing.phone_numbers n
     set valid = tstzrange(lower(n.valid), greatest(upper(s.valid)::timestamp at time zone v_zone,
                                                      lower(n.valid) + interval '1 second'))
    from crm.services s
   where s.id = n.service_id and n.number = p_number and n.service_id <> p_service_id
     and upper_inf(n.valid) and s.state = 'ended' and not upper_inf(s.valid);
  -- After whoever held it last.
  v_begin := greatest(v_begin, (select max(upper(n.valid)) from billing.phone_numbers n
                                  where n.number = p_number and n.service_id <> p_service_id
                                    and not upper_inf(n.valid) and lower(n.valid) < coalesce(v_end, 'infinity')));
  if v_end is not null and v_end <= v_begin then
    return;  -- the service ended before it could hold it
  end if;
  begin
    insert into billing.phone_numbers (number, service_id, valid) values (p_number, p_service_id, tstzrange(v_begin, v_end));
  exception when exclusion_violation then
    select n.service_id into v_holder from billing.phone_numbers n
     where n.number = p_number and n.valid && tstzrange(v_begin, v_end) order by lower(n.valid) desc limit 1;
    raise exception 'the number % belongs to service % at that time', p_number, v_holder
      using errcode = 'MG856', column = 'phone_number';
  end;
end;
$$;
comment on function billing.hold_phone_number(bigint, text, timestamptz) is
'A voice service holds a phone number from a moment (from its first day if it held none before).';
revoke all on function billing.hold_phone_number(bigint, text, timestamptz) from public;

create or replace function billing.tg_parameter_values__phone_numbers()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: billing.phone_numbers is written only here, whoever sets the service's parameter
-- (support, sales, billing, the scheduler applying an order).
declare
  v_old boolean := false;
  v_new boolean := false;
begin
  if tg_op in ('UPDATE', 'DELETE') then
    select d.entity = 'service' and d.code = 'phone_number' into v_old
      from crm.parameter_definitions d where d.id = old.definition_id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    select d.entity = 'service' and d.code = 'phone_number' into v_new
      from crm.parameter_definitions d where d.id = new.definition_id;
  end if;
  if tg_op = 'UPDATE' and v_old and v_new and old.entity_id = new.entity_id
     and billing.e164(old.value) is not distinct from billing.e164(new.value) then
    return null;
  end if;
  if coalesce(v_old, false) then
    perform billing.release_phone_number(old.entity_id, now());
  end if;
  if coalesce(v_new, false) then
    perform billing.hold_phone_number(new.entity_id, billing.e164(new.value), now());
  end if;
  return null;
end;
$$;
comment on function billing.tg_parameter_values__phone_numbers() is
'Keep billing.phone_numbers from the phone_number parameter of voice services.';
revoke all on function billing.tg_parameter_values__phone_numbers() from public;

create or replace trigger _600_phone_numbers after insert or update or delete on crm.parameter_values
for each row execute function billing.tg_parameter_values__phone_numbers();

alter table billing.phone_numbers enable row level security;
drop policy if exists staff_select_all on billing.phone_numbers;
create policy staff_select_all on billing.phone_numbers for select to mango_staff using (true);
revoke all on table billing.phone_numbers from public;
grant select on table billing.phone_numbers to mango_billing, mango_support;
select audit.enable('billing.phone_numbers');
