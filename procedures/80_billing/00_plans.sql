-- Billing plans (BIL-1): every operator has a default plan, every service a plan of its operator.

create or replace function billing.tg_operators__default_plan()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: a new operator gets its default billing plan whoever creates the operator (the insert
-- of the operator is what the caller's rights decide; the plan is part of it).
begin
  insert into billing.plans (operator_id, code, name, is_default) values (new.id, 'default', 'Invoice monthly', true);
  return null;
end;
$$;
comment on function billing.tg_operators__default_plan() is 'Give a new operator its default billing plan.';
revoke all on function billing.tg_operators__default_plan() from public;

create or replace trigger _600_default_billing_plan after insert on crm.operators
for each row execute function billing.tg_operators__default_plan();

create or replace function billing.tg_plans__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The default plan stays the default until another plan of the operator takes its place (then
-- billing.tg_plans__one_default unsets it, one trigger level down); a plan keeps its operator.
begin
  if tg_op = 'UPDATE' then
    if new.operator_id <> old.operator_id then
      raise exception 'a billing plan belongs to its operator for good' using errcode = 'MG040', column = 'operator_id';
    end if;
    if old.is_default and not new.is_default and pg_trigger_depth() < 2 then
      raise exception 'plan % is the operator''s default: make another plan the default instead', old.code
        using errcode = 'MG040', column = 'is_default';
    end if;
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function billing.tg_plans__validate() is
'A default plan is replaced, never just unset; a plan keeps its operator.';
revoke all on function billing.tg_plans__validate() from public;

create or replace trigger _500_validate before insert or update on billing.plans
for each row execute function billing.tg_plans__validate();

create or replace function billing.tg_plans__one_default()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A plan made the default takes the place of the operator's previous default (before the row is
-- written, so that billing.plans_one_default sees one default only).
begin
  update billing.plans set is_default = false
   where operator_id = new.operator_id and is_default and id <> new.id;
  return new;
end;
$$;
comment on function billing.tg_plans__one_default() is
'The operator''s previous default plan gives way to a new default.';
revoke all on function billing.tg_plans__one_default() from public;

create or replace trigger _450_one_default before insert or update of is_default on billing.plans
for each row when (new.is_default) execute function billing.tg_plans__one_default();

alter table billing.plans enable row level security;
drop policy if exists staff_select_all on billing.plans;
create policy staff_select_all on billing.plans for select to mango_staff, mango_agent_scheduler using (true);
drop policy if exists admin_write_all on billing.plans;
create policy admin_write_all on billing.plans for all to mango_staff
using ((select auth.may('admin'))) with check ((select auth.may('admin')));
-- Everyone in the office reads the plans (a service's form offers them); the scheduler activates
-- services of accepted orders (the service trigger looks up the default plan); administrators set
-- them up.
grant select on table billing.plans to mango_office, mango_agent_scheduler;
grant insert, update on table billing.plans to mango_admin;
select audit.enable('billing.plans');
