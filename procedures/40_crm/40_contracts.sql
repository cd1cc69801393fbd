-- Contracts (CRM-3): numbered from the operator's series; the document comes from templates later.

create or replace function crm.tg_contracts__validate()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: takes the number from the operator's series (crm.next_number), which only billing and
-- administrators may do directly.
begin
  if tg_op = 'INSERT' then
    new.number := coalesce(nullif(btrim(new.number), ''), crm.next_number(new.operator_id, 'contract', new.valid_from));
  else
    new.updated_at := now();
  end if;
  if new.state = 'signed' and new.signed_on is null then
    raise exception 'a signed contract needs its signing date' using errcode = 'MG001', column = 'signed_on';
  end if;
  return new;
end;
$$;
comment on function crm.tg_contracts__validate() is 'Number a new contract and check its dates.';
revoke all on function crm.tg_contracts__validate() from public;

create or replace trigger _500_validate before insert or update on crm.contracts
for each row execute function crm.tg_contracts__validate();

create or replace function crm.terminate_contract(p_contract_id bigint, p_on date)
returns date
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Termination by notice: the contract ends at the end of the notice period, or at the end of a
-- fixed term if that is later. Returns the end date.
declare
  v_contract crm.contracts;
  v_end date;
begin
  select * into v_contract from crm.contracts where id = p_contract_id and state <> 'terminated' for update;
  if not found then
    raise exception 'contract % is terminated already or not visible to you', p_contract_id using errcode = 'MG004';
  end if;
  v_end := (date_trunc('month', p_on) + make_interval(months => v_contract.notice_months + 1))::date - 1;
  v_end := greatest(v_end, coalesce(v_contract.fixed_until, v_end));
  update crm.contracts set state = 'terminated', terminated_on = v_end where id = p_contract_id;
  return v_end;
end;
$$;
comment on function crm.terminate_contract(bigint, date) is
'Terminate a contract by notice given on a date; it ends after the notice period (or fixed term).';
revoke all on function crm.terminate_contract(bigint, date) from public;
grant execute on function crm.terminate_contract(bigint, date) to mango_support, mango_sales, mango_billing;

alter table crm.contracts enable row level security;
drop policy if exists staff_select_all on crm.contracts;
create policy staff_select_all on crm.contracts for select
to mango_staff, mango_agent_scheduler, mango_agent_documents using (true);
drop policy if exists front_write_all on crm.contracts;
create policy front_write_all on crm.contracts for all to mango_staff using (true) with check (true);
drop policy if exists documents_update_all on crm.contracts;
create policy documents_update_all on crm.contracts for update to mango_agent_documents using (true) with check (true);
grant select on crm.contracts to mango_office, mango_agent_scheduler, mango_agent_documents;
grant insert, update on crm.contracts to mango_support, mango_sales, mango_billing;
grant update (document_id) on crm.contracts to mango_agent_documents;
select audit.enable('crm.contracts');
