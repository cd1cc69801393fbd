-- User-defined parameters (RPT-3): one mechanism for customers, tariffs, services and devices.

create or replace function crm.normalize_parameter(p_definition crm.parameter_definitions, p_value text)
returns text
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The canonical text of a value, or an MG005 error naming the parameter and what it expects.
declare
  v text := btrim(p_value);
  v_num numeric;
begin
  case p_definition.type
    when 'text' then
      if p_definition.pattern is not null and v !~ p_definition.pattern then
        raise exception 'parameter "%" does not have the expected form (%)', p_definition.name, p_definition.pattern
          using errcode = 'MG005', column = p_definition.code;
      end if;
    when 'number' then
      if replace(v, ',', '.') !~ '^[-+]?\d+(\.\d+)?$' then
        raise exception 'parameter "%" expects a number, got "%"', p_definition.name, v
          using errcode = 'MG005', column = p_definition.code;
      end if;
      v_num := replace(v, ',', '.')::numeric;
      if v_num < p_definition.min_value or v_num > p_definition.max_value then
        raise exception 'parameter "%" must be between % and %', p_definition.name,
          p_definition.min_value, p_definition.max_value using errcode = 'MG005', column = p_definition.code;
      end if;
      v := v_num::text;
    when 'date' then
      begin
        v := v::date::text;
      exception when others then
        raise exception 'parameter "%" expects a date (YYYY-MM-DD), got "%"', p_definition.name, v
          using errcode = 'MG005', column = p_definition.code;
      end;
    when 'boolean' then
      v := case lower(v) when 'true' then 'true' when 'yes' then 'true' when 'ano' then 'true' when '1' then 'true'
                         when 'on' then 'true' when 'false' then 'false' when 'no' then 'false' when 'ne' then 'false'
                         when '0' then 'false' when 'off' then 'false' end;
      if v is null then
        raise exception 'parameter "%" expects yes or no, got "%"', p_definition.name, p_value
          using errcode = 'MG005', column = p_definition.code;
      end if;
    when 'choice' then
      if not v = any(p_definition.choices) then
        raise exception 'parameter "%" must be one of: %', p_definition.name, array_to_string(p_definition.choices, ', ')
          using errcode = 'MG005', column = p_definition.code;
      end if;
    when 'ip' then
      begin
        v := host(v::inet) || case when masklen(v::inet) < (case family(v::inet) when 4 then 32 else 128 end)
                                   then '/' || masklen(v::inet) else '' end;
      exception when others then
        raise exception 'parameter "%" expects an IP address, got "%"', p_definition.name, v
          using errcode = 'MG005', column = p_definition.code;
      end;
    when 'mac' then
      begin
        v := v::macaddr::text;
      exception when others then
        raise exception 'parameter "%" expects a MAC address, got "%"', p_definition.name, v
          using errcode = 'MG005', column = p_definition.code;
      end;
  end case;
  return v;
end;
$$;
comment on function crm.normalize_parameter(crm.parameter_definitions, text) is
'Validate a parameter value against its definition and return its canonical text.';
revoke all on function crm.normalize_parameter(crm.parameter_definitions, text) from public;
grant execute on function crm.normalize_parameter(crm.parameter_definitions, text) to mango_office, mango_agent;

create or replace function crm.tg_parameter_values__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_def crm.parameter_definitions;
  v_class bigint;
begin
  select * into strict v_def from crm.parameter_definitions where id = new.definition_id;
  new.value := crm.normalize_parameter(v_def, new.value);
  new.updated_at := now();
  -- The entity must exist and, for class parameters, be of that class.
  case v_def.entity
    when 'customer' then
      perform from crm.customers where id = new.entity_id;
    when 'tariff' then
      select p.class_id into v_class from catalog.tariffs t join catalog.products p on p.id = t.product_id
       where t.id = new.entity_id;
    when 'service' then
      select p.class_id into v_class from crm.services s join catalog.products p on p.id = s.product_id
       where s.id = new.entity_id;
    else
      return new;  -- devices are checked by the network inventory
  end case;
  if not found then
    raise exception '% % does not exist', v_def.entity, new.entity_id using errcode = 'MG005';
  end if;
  if v_def.class_id is not null and v_class is distinct from v_def.class_id then
    raise exception 'parameter "%" does not belong to the class of this %', v_def.name, v_def.entity
      using errcode = 'MG005', column = v_def.code;
  end if;
  return new;
end;
$$;
comment on function crm.tg_parameter_values__validate() is 'Validate and normalise a parameter value.';
revoke all on function crm.tg_parameter_values__validate() from public;

create or replace trigger _500_validate before insert or update on crm.parameter_values
for each row execute function crm.tg_parameter_values__validate();

create or replace function crm.may_write_parameter(p_definition_id bigint)
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- Who may set a value depends on what it describes: tariffs are catalogue (admin), devices are
  -- the network (technician), customers and services are front office (support, sales, billing).
  select case d.entity
           when 'tariff' then auth.has_role('admin')
           when 'device' then auth.has_role('technician')
           else auth.has_role('support') or auth.has_role('sales') or auth.has_role('billing')
                -- the scheduler applies accepted orders that change a service's parameters
                or (d.entity = 'service' and auth.has_role('agent_scheduler'))
         end
    from crm.parameter_definitions d where d.id = p_definition_id;
$$;
comment on function crm.may_write_parameter(bigint) is 'Whether the caller may set values of a parameter.';
revoke all on function crm.may_write_parameter(bigint) from public;
grant execute on function crm.may_write_parameter(bigint) to mango_office, mango_agent_scheduler;

create or replace function crm.set_parameter(p_entity text, p_entity_id bigint, p_code text, p_value text)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_def crm.parameter_definitions;
begin
  select d.* into v_def from crm.parameter_definitions d
   where d.entity = p_entity and d.code = p_code and d.active
     and (d.class_id is null or d.class_id = case p_entity
           when 'tariff' then (select p.class_id from catalog.tariffs t join catalog.products p on p.id = t.product_id
                                where t.id = p_entity_id)
           when 'service' then (select p.class_id from crm.services s join catalog.products p on p.id = s.product_id
                                 where s.id = p_entity_id)
           when 'device' then (select n.class_id from net.devices n where n.id = p_entity_id)
         end)
   order by d.class_id nulls last
   limit 1;
  if not found then
    raise exception 'there is no parameter "%" for this %', p_code, p_entity using errcode = 'MG005', column = p_code;
  end if;
  if nullif(btrim(p_value), '') is null then
    if v_def.required then
      raise exception 'parameter "%" is required', v_def.name using errcode = 'MG005', column = p_code;
    end if;
    delete from crm.parameter_values where definition_id = v_def.id and entity_id = p_entity_id;
  else
    insert into crm.parameter_values (definition_id, entity_id, value) values (v_def.id, p_entity_id, p_value)
    on conflict (definition_id, entity_id) do update set value = excluded.value;
  end if;
end;
$$;
comment on function crm.set_parameter(text, bigint, text, text) is
'Set (or clear with an empty value) a user-defined parameter of a customer, tariff, service or device.';
revoke all on function crm.set_parameter(text, bigint, text, text) from public;
grant execute on function crm.set_parameter(text, bigint, text, text) to mango_office, mango_agent_scheduler;

create or replace function crm.set_parameters(p_entity text, p_entity_id bigint, p_values jsonb)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_key text;
  v_value text;
begin
  for v_key, v_value in select key, value from jsonb_each_text(coalesce(p_values, '{}')) loop
    perform crm.set_parameter(p_entity, p_entity_id, v_key, v_value);
  end loop;
end;
$$;
comment on function crm.set_parameters(text, bigint, jsonb) is
'Set several parameters from a JSON object {code: value}.';
revoke all on function crm.set_parameters(text, bigint, jsonb) from public;
grant execute on function crm.set_parameters(text, bigint, jsonb) to mango_office, mango_agent_scheduler;

create or replace view crm.parameters
with (security_invoker = true)
as
select
    v.id,
    d.entity,
    v.entity_id,
    d.id as definition_id,
    d.code,
    d.name,
    d.type,
    d.unit,
    d.show_in_lists,
    d.position,
    v.value
from crm.parameter_values as v
inner join crm.parameter_definitions as d on v.definition_id = d.id;
comment on view crm.parameters is 'Parameter values with their definitions, for forms, lists and filters.';
grant select on crm.parameters to mango_office, mango_agent_scheduler, mango_agent_provisioner;

alter table crm.parameter_definitions enable row level security;
alter table crm.parameter_values enable row level security;
drop policy if exists staff_select_all on crm.parameter_definitions;
create policy staff_select_all on crm.parameter_definitions for select
to mango_staff, mango_agent_scheduler, mango_agent_provisioner using (true);
drop policy if exists admin_write_all on crm.parameter_definitions;
create policy admin_write_all on crm.parameter_definitions for all to mango_staff
using ((select auth.may('admin'))) with check ((select auth.may('admin')));
grant select on crm.parameter_definitions to mango_office, mango_agent_scheduler, mango_agent_provisioner;
grant insert, update, delete on crm.parameter_definitions to mango_admin;

drop policy if exists staff_select_all on crm.parameter_values;
create policy staff_select_all on crm.parameter_values for select
to mango_staff, mango_agent_scheduler, mango_agent_provisioner using (true);
drop policy if exists staff_insert_permitted on crm.parameter_values;
create policy staff_insert_permitted on crm.parameter_values for insert to mango_staff, mango_agent_scheduler
with check (crm.may_write_parameter(definition_id));
drop policy if exists staff_update_permitted on crm.parameter_values;
create policy staff_update_permitted on crm.parameter_values for update to mango_staff, mango_agent_scheduler
using (crm.may_write_parameter(definition_id)) with check (crm.may_write_parameter(definition_id));
drop policy if exists staff_delete_permitted on crm.parameter_values;
create policy staff_delete_permitted on crm.parameter_values for delete to mango_staff, mango_agent_scheduler
using (crm.may_write_parameter(definition_id));
grant select on crm.parameter_values to mango_office, mango_agent_scheduler, mango_agent_provisioner;
grant insert, update, delete on crm.parameter_values to mango_office, mango_agent_scheduler;

select audit.enable('crm.parameter_definitions');
select audit.enable('crm.parameter_values');
