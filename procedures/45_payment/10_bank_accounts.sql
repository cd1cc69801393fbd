-- Bank accounts of an operator.

create or replace function payment.tg_bank_accounts__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  new.account_prefix := nullif(ltrim(coalesce(new.account_prefix, ''), '0'), '');
  if not payment.is_valid_account(new.account_prefix, new.account_number) then
    raise exception 'account number %-%/% fails the mod 11 check',
      coalesce(new.account_prefix, '0'), new.account_number, new.bank_code
      using errcode = 'MG001', column = 'account_number';
  end if;
  new.iban := coalesce(nullif(upper(replace(new.iban, ' ', '')), ''),
                       payment.czech_iban(new.account_prefix, new.account_number, new.bank_code));
  if not payment.is_valid_iban(new.iban) then
    raise exception 'IBAN % fails the mod 97 check', new.iban using errcode = 'MG001', column = 'iban';
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function payment.tg_bank_accounts__validate() is 'Check an account number and fill in its IBAN.';
revoke all on function payment.tg_bank_accounts__validate() from public;

create or replace trigger _500_validate before insert or update on payment.bank_accounts
for each row execute function payment.tg_bank_accounts__validate();

alter table payment.bank_accounts enable row level security;
drop policy if exists staff_select_all on payment.bank_accounts;
create policy staff_select_all on payment.bank_accounts for select to mango_staff using (true);
drop policy if exists billing_write_all on payment.bank_accounts;
create policy billing_write_all on payment.bank_accounts for all to mango_staff
using ((select auth.may('billing'))) with check ((select auth.may('billing')));
drop policy if exists agent_select_all on payment.bank_accounts;
create policy agent_select_all on payment.bank_accounts for select to mango_agent_scheduler, mango_agent_documents
using (true);
grant select on payment.bank_accounts to mango_office, mango_agent_scheduler, mango_agent_documents;
grant insert, update, delete on payment.bank_accounts to mango_billing;

select audit.enable('payment.bank_accounts');
