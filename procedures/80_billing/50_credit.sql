-- uniCredit prepaid credit (UC-1, UC-2): credit accounts per customer, operator and kind (money or
-- points), top-ups (cash at the desk, a bank payment paired 'to UC', a gift certificate),
-- reservations, spends, refunds from the free balance only, the movement history, and the renewal
-- of prepaid services from credit when their period starts (with returns of what a paid period no
-- longer costs when the service ends, is suspended or changes its tariff inside it).
--
-- Balances: the account row keeps its free balance (volné) and what is reserved; the total
-- (zůstatek) is their sum, a generated column. Every function changes the account and writes the
-- movement in one statement, and two statement triggers check at the end of every statement that
-- writes either table that each account it touched holds exactly the sums of its movements (so a
-- movement without its balance change, or a balance change without its movement, fails). Kept on the
-- row rather than summed in a view because the row is what a spend locks: its update waits for a
-- concurrent spend of the same account and then re-checks the free balance on the row as that one
-- left it, so two spends can never overdraw it; and reading a balance is one row, not a sum.
--
-- Who may (every function is security definer: no role writes these tables, so a balance cannot
-- change without its movement; each function checks the caller's session):
--   top-ups by cash and gift certificates, reservations and their release: support and billing
--   (the desk); spends and spending a reservation, issuing certificates: billing; refunds: billing
--   only; a payment 'to UC': billing and the scheduler agent (the payments pairing); renewal of
--   prepaid services: billing and the scheduler agent. Administrators hold billing. Support and
--   billing read the accounts, movements, reservations and certificates.
--
-- Errors: MG860 bad input (the column says which), MG861 not enough free credit, MG862 a gift
-- certificate that cannot be redeemed, MG863 a reservation that is not held, MG864 balances that
-- disagree with the movements (a bug, never a user's mistake).

-- ---------------------------------------------------------------------------------------------
-- checks

create or replace function billing.checked_credit_amount(p_amount numeric, p_kind text default 'money')
returns numeric
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
-- An amount of credit as the tables take it, or an error naming the amount: positive, finite, below
-- a billion, at most two decimal places (numeric(14,2) would round silently), whole for points.
begin
  if p_amount is null then
    raise exception 'give the amount' using errcode = 'MG860', column = 'amount';
  end if;
  if not (p_amount > 0 and p_amount < 1000000000) then
    raise exception 'an amount of credit is more than 0 and less than 1 000 000 000, not %', p_amount
      using errcode = 'MG860', column = 'amount';
  end if;
  if p_amount <> round(p_amount, 2) then
    raise exception 'an amount has at most two decimal places, not %', p_amount
      using errcode = 'MG860', column = 'amount';
  end if;
  if p_kind = 'points' and p_amount <> trunc(p_amount) then
    raise exception 'points are whole numbers, not %', p_amount using errcode = 'MG860', column = 'amount';
  end if;
  return round(p_amount, 2);
end;
$$;
comment on function billing.checked_credit_amount(numeric, text) is
'An amount of credit checked: positive, finite, two decimal places at most, whole for points.';
revoke all on function billing.checked_credit_amount(numeric, text) from public;

create or replace function billing.checked_reference(p_reference text)
returns text
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
-- A movement's reference (a receipt number, a note): trimmed, empty is none, at most 200 characters.
begin
  if length(btrim(p_reference)) > 200 then
    raise exception 'a reference has at most 200 characters' using errcode = 'MG860', column = 'reference';
  end if;
  return nullif(btrim(p_reference), '');
end;
$$;
comment on function billing.checked_reference(text) is
'A movement''s reference checked: trimmed, at most 200 characters.';
revoke all on function billing.checked_reference(text) from public;

create or replace function billing.credit_account_for(
    p_customer_id bigint, p_kind text, p_operator_id bigint, p_create boolean
)
returns billing.credit_accounts
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The credit account of a customer, operator and kind (the customer's operator by default),
-- opened when p_create and it does not exist yet; null when it does not and not p_create. The
-- operator is the customer's or one whose service the customer has. Called by the definer
-- functions below (as the owner); no grant.
declare
  v_customer crm.customers;
  v_operator bigint;
  v_account billing.credit_accounts;
begin
  if p_customer_id is null then
    raise exception 'give the customer' using errcode = 'MG860', column = 'customer_id';
  end if;
  select * into v_customer from crm.customers where id = p_customer_id;
  if not found then
    raise exception 'customer % does not exist', p_customer_id using errcode = 'MG860', column = 'customer_id';
  end if;
  if p_kind is null or p_kind not in ('money', 'points') then
    raise exception 'credit is money or points, not %', coalesce(left(p_kind, 60), 'none')
      using errcode = 'MG860', column = 'kind';
  end if;
  v_operator := coalesce(p_operator_id, v_customer.operator_id);
  if v_operator <> v_customer.operator_id
     and not exists (select from crm.services s where s.customer_id = p_customer_id and s.operator_id = v_operator) then
    raise exception 'customer % has no service of operator %', v_customer.customer_no, v_operator
      using errcode = 'MG860', column = 'operator_id';
  end if;
  select * into v_account from billing.credit_accounts a
   where a.customer_id = p_customer_id and a.operator_id = v_operator and a.kind = p_kind;
  if not found and p_create then
    insert into billing.credit_accounts (customer_id, operator_id, kind) values (p_customer_id, v_operator, p_kind)
    on conflict (customer_id, operator_id, kind) do nothing;
    select * into v_account from billing.credit_accounts a
     where a.customer_id = p_customer_id and a.operator_id = v_operator and a.kind = p_kind;
  end if;
  return v_account;
end;
$$;
comment on function billing.credit_account_for(bigint, text, bigint, boolean) is
'The credit account of a customer, operator and kind, opened on request; checks the three.';
revoke all on function billing.credit_account_for(bigint, text, bigint, boolean) from public;

-- ---------------------------------------------------------------------------------------------
-- balances agree with the movements; movements are never changed

create or replace function billing.check_credit_balances(p_account_ids bigint[])
returns void
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Each of these accounts holds exactly the sums of its movements, or MG864.
declare
  v_bad record;
begin
  select a.id, a.free, a.reserved, m.free as moved_free, m.reserved as moved_reserved into v_bad
    from billing.credit_accounts a
    cross join lateral (
      select coalesce(sum(x.free_delta), 0) as free, coalesce(sum(x.reserved_delta), 0) as reserved
        from billing.credit_movements x where x.account_id = a.id
    ) m
   where a.id = any(p_account_ids) and (a.free, a.reserved) is distinct from (m.free, m.reserved)
   limit 1;
  if found then
    raise exception 'credit account % holds % free and % reserved, its movements % and %',
      v_bad.id, v_bad.free, v_bad.reserved, v_bad.moved_free, v_bad.moved_reserved using errcode = 'MG864';
  end if;
end;
$$;
comment on function billing.check_credit_balances(bigint[]) is
'Raise MG864 unless each of these credit accounts holds the sums of its movements.';
revoke all on function billing.check_credit_balances(bigint[]) from public;

create or replace function billing.tg_credit_accounts__check_balances()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  perform billing.check_credit_balances(array(select c.id from changed c));
  return null;
end;
$$;
comment on function billing.tg_credit_accounts__check_balances() is
'After a statement that changed credit accounts: their balances are the sums of their movements.';
revoke all on function billing.tg_credit_accounts__check_balances() from public;

create or replace function billing.tg_credit_movements__check_balances()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  perform billing.check_credit_balances(array(select distinct c.account_id from changed c));
  return null;
end;
$$;
comment on function billing.tg_credit_movements__check_balances() is
'After a statement that wrote movements: their accounts'' balances are the sums of their movements.';
revoke all on function billing.tg_credit_movements__check_balances() from public;

create or replace trigger _500_check_balances after update on billing.credit_accounts
referencing new table as changed
for each statement execute function billing.tg_credit_accounts__check_balances();
create or replace trigger _500_check_balances after insert on billing.credit_movements
referencing new table as changed
for each statement execute function billing.tg_credit_movements__check_balances();

create or replace function billing.tg_credit_movements__append_only()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Movements are the history of the balances: a correction is a new movement.
begin
  raise exception 'credit movements are never changed or deleted: a correction is a new movement'
    using errcode = 'MG864';
end;
$$;
comment on function billing.tg_credit_movements__append_only() is
'Refuse to change or delete a credit movement (a correction is a new movement).';
revoke all on function billing.tg_credit_movements__append_only() from public;

create or replace trigger _500_append_only before update or delete on billing.credit_movements
for each row execute function billing.tg_credit_movements__append_only();
create or replace trigger _500_append_only_truncate before truncate on billing.credit_movements
for each statement execute function billing.tg_credit_movements__append_only();

create or replace trigger _100_timestamps before update on billing.credit_accounts
for each row execute function audit.tg__updated_at();

-- ---------------------------------------------------------------------------------------------
-- top-ups

create or replace function billing.top_up(
    p_account billing.credit_accounts, p_amount numeric, p_source text, p_reference text,
    p_payment_id bigint default null, p_certificate_id bigint default null
)
returns billing.credit_movements
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Credit an account and write the top-up in one statement; then a money account pays the due
-- periods of its prepaid services and lifts their credit blocks (billing.renew_prepaid_services).
-- Called by the top-up functions below (as the owner); no grant.
declare
  v_movement billing.credit_movements;
begin
  with credited as (
    update billing.credit_accounts a set free = a.free + p_amount, last_top_up_at = now()
     where a.id = p_account.id
    returning a.id
  )
  insert into billing.credit_movements (account_id, kind, amount, source, payment_id, certificate_id, reference,
                                        created_by, db_role)
  select c.id, 'top_up', p_amount, p_source, p_payment_id, p_certificate_id, p_reference, auth.user_id(),
         auth.caller_role()
    from credited c
  returning * into v_movement;
  if p_account.kind = 'money' then
    perform billing.renew_prepaid_services(null, p_account.operator_id, p_account.customer_id, false);
  end if;
  return v_movement;
end;
$$;
comment on function billing.top_up(billing.credit_accounts, numeric, text, text, bigint, bigint) is
'Credit an account (a top-up movement) and renew its customer''s prepaid services that wait for credit.';
revoke all on function billing.top_up(billing.credit_accounts, numeric, text, text, bigint, bigint) from public;

create or replace function billing.top_up_cash(
    p_customer_id bigint, p_amount numeric, p_reference text default null, p_operator_id bigint default null
)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: the credit tables are written only by these functions. Cash paid at the desk into the
-- customer's money account (support and billing: the customer card's top-up). In the same
-- transaction the customer's prepaid services blocked for want of credit are paid and unblocked.
declare
  v_account billing.credit_accounts;
begin
  if not (auth.may('billing') or auth.may('support')) then
    raise exception 'a cash top-up needs a signed-in user with the billing or support role' using errcode = '42501';
  end if;
  v_account := billing.credit_account_for(p_customer_id, 'money', p_operator_id, true);
  if exists (select from crm.customers c where c.id = p_customer_id and c.state = 'ended') then
    raise exception 'customer % has ended: no more top-ups', p_customer_id using errcode = 'MG860', column = 'customer_id';
  end if;
  return billing.top_up(v_account, billing.checked_credit_amount(p_amount), 'cash', billing.checked_reference(p_reference));
end;
$$;
comment on function billing.top_up_cash(bigint, numeric, text, bigint) is
'Top up a customer''s money credit with cash at the desk (support, billing); unblocks what it pays.';
revoke all on function billing.top_up_cash(bigint, numeric, text, bigint) from public;
grant execute on function billing.top_up_cash(bigint, numeric, text, bigint) to mango_support, mango_billing;

create or replace function billing.top_up_from_payment(
    p_customer_id bigint, p_amount numeric, p_payment_id bigint, p_reference text default null,
    p_operator_id bigint default null
)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. A bank payment paired 'to UC' (the payments pairing calls it:
-- billing, or the scheduler agent running an import). A payment tops up once: the same payment
-- again returns its movement and changes nothing; with another customer or amount it is refused.
declare
  v_account billing.credit_accounts;
  v_amount numeric := billing.checked_credit_amount(p_amount);
  v_movement billing.credit_movements;
begin
  if not (auth.may('billing') or auth.has_role('agent_scheduler')) then
    raise exception 'a payment to credit needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  if p_payment_id is null then
    raise exception 'give the payment' using errcode = 'MG860', column = 'payment_id';
  end if;
  v_account := billing.credit_account_for(p_customer_id, 'money', p_operator_id, true);
  -- The same payment twice: the first top-up stands (a concurrent second waits on the unique index).
  select * into v_movement from billing.credit_movements m where m.payment_id = p_payment_id;
  if found then
    if v_movement.account_id <> v_account.id or v_movement.amount <> v_amount then
      raise exception 'payment % already topped up credit account % with %', p_payment_id, v_movement.account_id,
        v_movement.amount using errcode = 'MG860', column = 'payment_id';
    end if;
    return v_movement;
  end if;
  return billing.top_up(v_account, v_amount, 'payment', billing.checked_reference(p_reference), p_payment_id);
end;
$$;
comment on function billing.top_up_from_payment(bigint, numeric, bigint, text, bigint) is
'Top up a customer''s money credit from a bank payment paired ''to UC'' (once per payment); unblocks what it pays.';
revoke all on function billing.top_up_from_payment(bigint, numeric, bigint, text, bigint) from public;
grant execute on function billing.top_up_from_payment(bigint, numeric, bigint, text, bigint)
to mango_billing, mango_agent_scheduler;

-- ---------------------------------------------------------------------------------------------
-- gift certificates

create or replace function billing.checked_customer_option(p_options jsonb, p_key text)
returns bigint
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The customer an option names by its id (null if the option is not there), or an error naming it.
declare
  v_id bigint;
begin
  if p_options -> p_key is null or p_options -> p_key = 'null'::jsonb then
    return null;
  end if;
  if jsonb_typeof(p_options -> p_key) <> 'number' or (p_options ->> p_key) !~ '^[0-9]{1,18}$' then
    raise exception '% is a customer''s id', p_key using errcode = 'MG860', column = p_key;
  end if;
  v_id := (p_options ->> p_key)::bigint;
  if not exists (select from crm.customers c where c.id = v_id) then
    raise exception 'customer % does not exist', v_id using errcode = 'MG860', column = p_key;
  end if;
  return v_id;
end;
$$;
comment on function billing.checked_customer_option(jsonb, text) is
'A customer named by an option, checked (internal).';
revoke all on function billing.checked_customer_option(jsonb, text) from public;

create or replace function billing.issue_gift_certificate(
    p_operator_id bigint, p_value numeric, p_donor text, p_recipient text, p_valid_from date, p_valid_until date,
    p_options jsonb default '{}'
)
returns billing.gift_certificates
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. A gift certificate (billing: its value was paid for), valid
-- from p_valid_from (the business date if null) to p_valid_until inclusive (open if null).
-- p_options: kind ('money' or 'points'), code (a random 12-character code if none),
-- donor_customer_id, recipient_customer_id (then only that customer redeems it), note.
declare
  v_options jsonb := coalesce(p_options, '{}');
  v_kind text := coalesce(v_options ->> 'kind', 'money');
  v_code text := upper(btrim(v_options ->> 'code'));
  v_from date;
  v_certificate billing.gift_certificates;
  v_key text;
begin
  if not auth.may('billing') then
    raise exception 'issuing a gift certificate needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  select k into v_key from jsonb_object_keys(v_options) k
   where k not in ('kind', 'code', 'donor_customer_id', 'recipient_customer_id', 'note') limit 1;
  if found then
    raise exception 'a gift certificate has no option %', left(v_key, 60) using errcode = 'MG860', column = left(v_key, 60);
  end if;
  if not exists (select from crm.operators o where o.id = p_operator_id) then
    raise exception 'operator % does not exist', p_operator_id using errcode = 'MG860', column = 'operator_id';
  end if;
  if v_kind not in ('money', 'points') then
    raise exception 'credit is money or points, not %', left(v_kind, 60) using errcode = 'MG860', column = 'kind';
  end if;
  if nullif(btrim(p_donor), '') is null or length(btrim(p_donor)) > 200 then
    raise exception 'give the donor (at most 200 characters)' using errcode = 'MG860', column = 'donor';
  end if;
  if length(btrim(p_recipient)) > 200 then
    raise exception 'a recipient has at most 200 characters' using errcode = 'MG860', column = 'recipient';
  end if;
  if length(v_options ->> 'note') > 2000 then
    raise exception 'a note has at most 2000 characters' using errcode = 'MG860', column = 'note';
  end if;
  v_from := coalesce(p_valid_from, crm.business_date(p_operator_id));
  if p_valid_until < v_from then
    raise exception 'a gift certificate is valid until a day after it is valid from (%)', v_from
      using errcode = 'MG860', column = 'valid';
  end if;
  if v_code is not null and v_code !~ '^[A-Z0-9][A-Z0-9-]{3,39}$' then
    raise exception 'a gift certificate code is 4 to 40 letters, digits and dashes' using errcode = 'MG860', column = 'code';
  end if;
  if v_code is not null and exists (select from billing.gift_certificates g
                                     where g.operator_id = p_operator_id and g.code = v_code) then
    raise exception 'gift certificate % exists already', v_code using errcode = 'MG860', column = 'code';
  end if;
  insert into billing.gift_certificates (operator_id, code, kind, value, donor, donor_customer_id, recipient,
                                         recipient_customer_id, valid, note, issued_by)
  values (p_operator_id, coalesce(v_code, upper(encode(public.gen_random_bytes(6), 'hex'))), v_kind,
          billing.checked_credit_amount(p_value, v_kind), btrim(p_donor),
          billing.checked_customer_option(v_options, 'donor_customer_id'), nullif(btrim(p_recipient), ''),
          billing.checked_customer_option(v_options, 'recipient_customer_id'), daterange(v_from, p_valid_until, '[]'),
          v_options ->> 'note', auth.user_id())
  returning * into v_certificate;
  return v_certificate;
end;
$$;
comment on function billing.issue_gift_certificate(bigint, numeric, text, text, date, date, jsonb) is
'Issue a uniCredit gift certificate: value, donor, recipient, validity (billing).';
revoke all on function billing.issue_gift_certificate(bigint, numeric, text, text, date, date, jsonb) from public;
grant execute on function billing.issue_gift_certificate(bigint, numeric, text, text, date, date, jsonb)
to mango_billing;

create or replace function billing.redeem_gift_certificate(p_customer_id bigint, p_code text)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. Redeem a gift certificate of the customer's operator into the
-- customer's account of its kind (support and billing, at the desk): once, within its validity,
-- by its recipient customer when it names one. The certificate row is locked: of two concurrent
-- redemptions one waits and then finds it redeemed.
declare
  v_customer crm.customers;
  v_certificate billing.gift_certificates;
  v_account billing.credit_accounts;
  v_today date;
begin
  if not (auth.may('billing') or auth.may('support')) then
    raise exception 'redeeming a gift certificate needs a signed-in user with the billing or support role'
      using errcode = '42501';
  end if;
  select * into v_customer from crm.customers where id = p_customer_id;
  if not found then
    raise exception 'customer % does not exist', p_customer_id using errcode = 'MG860', column = 'customer_id';
  end if;
  if v_customer.state = 'ended' then
    raise exception 'customer % has ended: no more top-ups', v_customer.customer_no
      using errcode = 'MG860', column = 'customer_id';
  end if;
  select * into v_certificate from billing.gift_certificates g
   where g.operator_id = v_customer.operator_id and g.code = upper(btrim(p_code))
     for update;
  if not found then
    raise exception 'there is no gift certificate %', coalesce(left(upper(btrim(p_code)), 40), '')
      using errcode = 'MG862', column = 'code';
  end if;
  if v_certificate.redeemed_at is not null then
    raise exception 'gift certificate % was redeemed on %', v_certificate.code,
      to_char(v_certificate.redeemed_at, 'YYYY-MM-DD') using errcode = 'MG862', column = 'code';
  end if;
  v_today := crm.business_date(v_certificate.operator_id);
  if not v_certificate.valid @> v_today then
    raise exception 'gift certificate % is valid from % to %', v_certificate.code, lower(v_certificate.valid),
      coalesce((upper(v_certificate.valid) - 1)::text, 'no end') using errcode = 'MG862', column = 'code';
  end if;
  if v_certificate.recipient_customer_id is not null and v_certificate.recipient_customer_id <> p_customer_id then
    raise exception 'gift certificate % is for another customer', v_certificate.code
      using errcode = 'MG862', column = 'code';
  end if;
  v_account := billing.credit_account_for(p_customer_id, v_certificate.kind, v_certificate.operator_id, true);
  update billing.gift_certificates
     set redeemed_customer_id = p_customer_id, redeemed_account_id = v_account.id, redeemed_at = now(),
         redeemed_by = auth.user_id()
   where id = v_certificate.id;
  return billing.top_up(v_account, v_certificate.value, 'certificate', v_certificate.code, null, v_certificate.id);
end;
$$;
comment on function billing.redeem_gift_certificate(bigint, text) is
'Redeem a gift certificate into the customer''s credit (support, billing): once, while valid.';
revoke all on function billing.redeem_gift_certificate(bigint, text) from public;
grant execute on function billing.redeem_gift_certificate(bigint, text) to mango_support, mango_billing;

-- ---------------------------------------------------------------------------------------------
-- reservations

create or replace function billing.reserve_credit(
    p_customer_id bigint, p_amount numeric, p_purpose text, p_service_id bigint default null,
    p_product_id bigint default null, p_kind text default 'money', p_operator_id bigint default null
)
returns billing.credit_reservations
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. Hold an amount of the free balance for a service or a product
-- (support and billing, at the desk) until it is spent or released; never more than the free
-- balance (one statement: the account row's lock orders concurrent spends and reservations).
declare
  v_account billing.credit_accounts;
  v_amount numeric;
  v_reservation billing.credit_reservations;
begin
  if not (auth.may('billing') or auth.may('support')) then
    raise exception 'a reservation needs a signed-in user with the billing or support role' using errcode = '42501';
  end if;
  v_account := billing.credit_account_for(p_customer_id, p_kind, p_operator_id, false);
  v_amount := billing.checked_credit_amount(p_amount, p_kind);
  if nullif(btrim(p_purpose), '') is null or length(btrim(p_purpose)) > 500 then
    raise exception 'say what the reservation is for (at most 500 characters)' using errcode = 'MG860', column = 'purpose';
  end if;
  if p_service_id is not null
     and not exists (select from crm.services s where s.id = p_service_id and s.customer_id = p_customer_id) then
    raise exception 'service % is not a service of this customer', p_service_id
      using errcode = 'MG860', column = 'service_id';
  end if;
  if p_product_id is not null and not exists (select from catalog.products p where p.id = p_product_id) then
    raise exception 'product % does not exist', p_product_id using errcode = 'MG860', column = 'product_id';
  end if;
  with held as (
    update billing.credit_accounts a set free = a.free - v_amount, reserved = a.reserved + v_amount
     where a.id = v_account.id and a.free >= v_amount
    returning a.id
  ), reservation as (
    insert into billing.credit_reservations (account_id, amount, purpose, service_id, product_id, created_by)
    select h.id, v_amount, btrim(p_purpose), p_service_id, p_product_id, auth.user_id() from held h
    returning *
  ), movement as (
    insert into billing.credit_movements (account_id, kind, amount, reservation_id, service_id, created_by, db_role)
    select r.account_id, 'reserve', r.amount, r.id, null, auth.user_id(), auth.caller_role() from reservation r
  )
  select * into v_reservation from reservation;
  if v_reservation.id is null then
    perform billing.raise_short_of_credit(v_account, v_amount, 'reserve');
  end if;
  return v_reservation;
end;
$$;
comment on function billing.reserve_credit(bigint, numeric, text, bigint, bigint, text, bigint) is
'Hold part of a customer''s free credit for a service or a product (support, billing).';
revoke all on function billing.reserve_credit(bigint, numeric, text, bigint, bigint, text, bigint) from public;
grant execute on function billing.reserve_credit(bigint, numeric, text, bigint, bigint, text, bigint)
to mango_support, mango_billing;

create or replace function billing.raise_short_of_credit(
    p_account billing.credit_accounts, p_amount numeric, p_what text
)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- The error of a spend, reservation or refund the free balance does not cover (MG861), with the
-- free balance as it is now.
declare
  v_free numeric;
begin
  if p_account.id is null then
    raise exception 'the customer has no % credit to %', 'money', p_what using errcode = 'MG861', column = 'amount';
  end if;
  select a.free into v_free from billing.credit_accounts a where a.id = p_account.id;
  raise exception 'the free credit is %, less than the % to %', v_free, p_amount, p_what
    using errcode = 'MG861', column = 'amount';
end;
$$;
comment on function billing.raise_short_of_credit(billing.credit_accounts, numeric, text) is
'Raise MG861: the free credit does not cover an amount.';
revoke all on function billing.raise_short_of_credit(billing.credit_accounts, numeric, text) from public;

create or replace function billing.close_reservation(p_reservation_id bigint, p_state text, p_reference text)
returns billing.credit_movements
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Release a held reservation back to the free balance, or spend it: the reservation, the account
-- and the movement in one statement (the reservation row's lock makes it happen once). Called by
-- billing.release_reservation and billing.spend_reservation (as the owner); no grant.
declare
  v_movement billing.credit_movements;
  v_state text;
begin
  with closed as (
    update billing.credit_reservations r set state = p_state, closed_at = now(), closed_by = auth.user_id()
     where r.id = p_reservation_id and r.state = 'held'
    returning r.*
  ), account as (
    update billing.credit_accounts a
       set free = a.free + case when p_state = 'released' then c.amount else 0 end,
           reserved = a.reserved - c.amount,
           last_spent_at = case when p_state = 'spent' then now() else a.last_spent_at end
      from closed c
     where a.id = c.account_id
  )
  insert into billing.credit_movements (account_id, kind, amount, reservation_id, service_id, reference,
                                        created_by, db_role)
  select c.account_id, case p_state when 'released' then 'release' else 'spend' end, c.amount, c.id, null,
         p_reference, auth.user_id(), auth.caller_role()
    from closed c
  returning * into v_movement;
  if v_movement.id is null then
    select r.state into v_state from billing.credit_reservations r where r.id = p_reservation_id;
    if not found then
      raise exception 'reservation % does not exist', p_reservation_id using errcode = 'MG863', column = 'reservation_id';
    end if;
    raise exception 'reservation % is % already', p_reservation_id, v_state using errcode = 'MG863', column = 'reservation_id';
  end if;
  return v_movement;
end;
$$;
comment on function billing.close_reservation(bigint, text, text) is
'Release or spend a held reservation (internal: see release_reservation, spend_reservation).';
revoke all on function billing.close_reservation(bigint, text, text) from public;

create or replace function billing.release_reservation(p_reservation_id bigint)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. Give a held amount back to the free balance (support, billing).
begin
  if not (auth.may('billing') or auth.may('support')) then
    raise exception 'releasing a reservation needs a signed-in user with the billing or support role'
      using errcode = '42501';
  end if;
  return billing.close_reservation(p_reservation_id, 'released', null);
end;
$$;
comment on function billing.release_reservation(bigint) is
'Release a held reservation back to the free credit (support, billing).';
revoke all on function billing.release_reservation(bigint) from public;
grant execute on function billing.release_reservation(bigint) to mango_support, mango_billing;

create or replace function billing.spend_reservation(p_reservation_id bigint, p_reference text default null)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. Pay what a reservation held for (billing): the reserved amount
-- leaves the account.
begin
  if not auth.may('billing') then
    raise exception 'spending credit needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  return billing.close_reservation(p_reservation_id, 'spent', billing.checked_reference(p_reference));
end;
$$;
comment on function billing.spend_reservation(bigint, text) is 'Spend a held reservation (billing).';
revoke all on function billing.spend_reservation(bigint, text) from public;
grant execute on function billing.spend_reservation(bigint, text) to mango_billing;

-- ---------------------------------------------------------------------------------------------
-- spends and refunds

create or replace function billing.take_free_credit(
    p_account billing.credit_accounts, p_kind text, p_amount numeric, p_reference text,
    p_service_id bigint default null, p_period daterange default null, p_charge_id bigint default null,
    p_covered daterange default null
)
returns billing.credit_movements
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A spend or a refund from the free balance, in one statement: the update takes the account row's
-- lock and, if another spend held it, re-checks the free balance on the row that one left, so two
-- concurrent spends never overdraw it. Not enough free credit: MG861. Called by billing.spend_credit
-- and billing.refund_credit (as the owner); no grant.
declare
  v_movement billing.credit_movements;
begin
  with taken as (
    update billing.credit_accounts a
       set free = a.free - p_amount, last_spent_at = case when p_kind = 'spend' then now() else a.last_spent_at end
     where a.id = p_account.id and a.free >= p_amount
    returning a.id
  )
  insert into billing.credit_movements (account_id, kind, amount, service_id, period, covered, charge_id, reference,
                                        created_by, db_role)
  select t.id, p_kind, p_amount, p_service_id, p_period, p_covered, p_charge_id, p_reference, auth.user_id(),
         auth.caller_role()
    from taken t
  returning * into v_movement;
  if v_movement.id is null then
    perform billing.raise_short_of_credit(p_account, p_amount, p_kind);
  end if;
  return v_movement;
end;
$$;
comment on function billing.take_free_credit(
    billing.credit_accounts, text, numeric, text, bigint, daterange, bigint, daterange
) is
'Spend or refund from an account''s free credit, never more than it holds (internal).';
revoke all on function billing.take_free_credit(
    billing.credit_accounts, text, numeric, text, bigint, daterange, bigint, daterange
) from public;

create or replace function billing.spend_credit(
    p_customer_id bigint, p_amount numeric, p_reference text default null, p_service_id bigint default null,
    p_period daterange default null, p_kind text default 'money', p_operator_id bigint default null
)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. Pay from the free balance (billing): a service's period (once
-- per service and period start) or anything the reference names. Never more than the free balance.
declare
  v_account billing.credit_accounts;
  v_amount numeric;
begin
  if not auth.may('billing') then
    raise exception 'spending credit needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  v_account := billing.credit_account_for(p_customer_id, p_kind, p_operator_id, false);
  v_amount := billing.checked_credit_amount(p_amount, p_kind);
  if p_period is not null and p_service_id is null then
    raise exception 'a period paid is the period of a service: give the service' using errcode = 'MG860',
      column = 'service_id';
  end if;
  if p_service_id is not null
     and not exists (select from crm.services s where s.id = p_service_id and s.customer_id = p_customer_id) then
    raise exception 'service % is not a service of this customer', p_service_id
      using errcode = 'MG860', column = 'service_id';
  end if;
  if p_period is not null and (isempty(p_period) or lower_inf(p_period) or upper_inf(p_period)) then
    raise exception 'a period paid has a first and a last day' using errcode = 'MG860', column = 'period';
  end if;
  -- The account's lock first: a concurrent payment of the same period waits and then finds it.
  perform 1 from billing.credit_accounts a where a.id = v_account.id for update;
  if p_period is not null and exists (select from billing.credit_movements m
                                       where m.kind = 'spend' and m.service_id = p_service_id
                                         and lower(m.period) = lower(p_period)) then
    raise exception 'the period from % of service % is paid already', lower(p_period), p_service_id
      using errcode = 'MG860', column = 'period';
  end if;
  return billing.take_free_credit(v_account, 'spend', v_amount, billing.checked_reference(p_reference),
                                  p_service_id, p_period);
end;
$$;
comment on function billing.spend_credit(bigint, numeric, text, bigint, daterange, text, bigint) is
'Pay from a customer''s free credit (billing): a service''s period or what the reference says.';
revoke all on function billing.spend_credit(bigint, numeric, text, bigint, daterange, text, bigint) from public;
grant execute on function billing.spend_credit(bigint, numeric, text, bigint, daterange, text, bigint) to mango_billing;

create or replace function billing.refund_credit(
    p_customer_id bigint, p_amount numeric, p_reference text default null, p_operator_id bigint default null
)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. Pay money credit back to the customer in cash (billing only):
-- from the free balance only, never what reservations hold; more is refused (MG861) naming the free
-- balance.
declare
  v_account billing.credit_accounts;
begin
  if not auth.may('billing') then
    raise exception 'a refund needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  v_account := billing.credit_account_for(p_customer_id, 'money', p_operator_id, false);
  return billing.take_free_credit(v_account, 'refund', billing.checked_credit_amount(p_amount),
                                  billing.checked_reference(p_reference));
end;
$$;
comment on function billing.refund_credit(bigint, numeric, text, bigint) is
'Refund money credit in cash from the free balance only (billing).';
revoke all on function billing.refund_credit(bigint, numeric, text, bigint) from public;
grant execute on function billing.refund_credit(bigint, numeric, text, bigint) to mango_billing;

create or replace function billing.pay_charge_from_credit(p_charge_id bigint)
returns billing.credit_movements
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.top_up_cash. Pay a charge (a one-time fee, a manual charge, a period's fee)
-- from its payer's money credit with its operator (billing): its whole amount with VAT, once per
-- charge, never more than the free balance. The renewal of a prepaid service does not pay a
-- recurring charge paid this way again, and this refuses one whose period the renewal paid.
declare
  v_charge billing.charges;
  v_account billing.credit_accounts;
begin
  if not auth.may('billing') then
    raise exception 'spending credit needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  select * into v_charge from billing.charges c where c.id = p_charge_id;
  if not found then
    raise exception 'charge % does not exist', p_charge_id using errcode = 'MG860', column = 'charge_id';
  end if;
  if v_charge.amount_with_vat <= 0 then
    raise exception 'charge % is not an amount to pay (%)', p_charge_id, v_charge.amount_with_vat
      using errcode = 'MG860', column = 'charge_id';
  end if;
  if exists (select from billing.credit_movements m where m.charge_id = p_charge_id)
     or (v_charge.kind = 'recurring'
         and exists (select from billing.credit_movements m
                      where m.kind = 'spend' and m.service_id = v_charge.service_id
                        and lower(m.period) = lower(v_charge.period))) then
    raise exception 'charge % is paid from credit already', p_charge_id using errcode = 'MG860', column = 'charge_id';
  end if;
  v_account := billing.credit_account_for(v_charge.payer_id, 'money', v_charge.operator_id, false);
  return billing.take_free_credit(
    v_account, 'spend', v_charge.amount_with_vat, left(v_charge.description, 200), v_charge.service_id, null,
    v_charge.id
  );
end;
$$;
comment on function billing.pay_charge_from_credit(bigint) is
'Pay a charge from its payer''s money credit (billing): once, never more than the free balance.';
revoke all on function billing.pay_charge_from_credit(bigint) from public;
grant execute on function billing.pay_charge_from_credit(bigint) to mango_billing;

-- ---------------------------------------------------------------------------------------------
-- the movement history

create or replace function billing.credit_history(p_customer_id bigint, p_operator_id bigint default null)
returns table (
    movement_id bigint, account_id bigint, operator_id bigint, account_kind text, created_at timestamptz,
    kind text, source text, amount numeric, free_delta numeric, reserved_delta numeric, free_after numeric,
    total_after numeric, reference text, service_id bigint, period daterange, covered daterange, charge_id bigint,
    reservation_id bigint, certificate_id bigint, payment_id bigint, created_by bigint, db_role text
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- Every movement of a customer's credit accounts (of one operator if given), oldest first, with
  -- the free and total balance after each (support and billing read it).
  select m.id, a.id, a.operator_id, a.kind, m.created_at, m.kind, m.source, m.amount, m.free_delta, m.reserved_delta,
         sum(m.free_delta) over w, sum(m.free_delta + m.reserved_delta) over w, m.reference, m.service_id, m.period,
         m.covered, m.charge_id, m.reservation_id, m.certificate_id, m.payment_id, m.created_by, m.db_role
    from billing.credit_accounts a
    join billing.credit_movements m on m.account_id = a.id
   where a.customer_id = p_customer_id and (p_operator_id is null or a.operator_id = p_operator_id)
  window w as (partition by a.id order by m.id)
   order by a.operator_id, a.kind, m.id;
$$;
comment on function billing.credit_history(bigint, bigint) is
'A customer''s credit movements with the free and total balance after each (support, billing).';
revoke all on function billing.credit_history(bigint, bigint) from public;
grant execute on function billing.credit_history(bigint, bigint) to mango_support, mango_billing;

-- ---------------------------------------------------------------------------------------------
-- UC-2: prepaid services renewed from credit when their period starts

create or replace function billing.prepaid_due(p_today date, p_operator_id bigint, p_customer_id bigint)
returns table (
    service_id bigint, customer_id bigint, operator_id bigint, state text, current boolean, period daterange,
    covered daterange, owed numeric, paid numeric, amount numeric, charge_id bigint
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
  -- What the prepaid-credit services (of an operator, of a customer, or all) owe their credit now:
  -- one row per service and billing period with its price (owed), what credit paid for it already
  -- (paid: its spends less its returns) and the difference (amount: to spend when more than 0, to
  -- return when less), for the period that has begun by p_today (each operator's business date if
  -- null) of every running service (current), and every period paid from credit that is not over
  -- yet (to take a later end, suspension or tariff change into account).
  --
  -- Periods and days as the billing core counts them (billing.period_of, billing.tariff_days):
  -- period_months months from the billing day, counted from the period that holds the first billed
  -- day (bill_from); the days billed run from that day to the service's end, less the days of its
  -- suspension (DUN-4: a suspension is not billed; a suspended service is renewed when it
  -- resumes). Each tariff of the period is billed as the plan's tariff_change says (CAT-6):
  -- prorata_both, each for its own days; full_old_prorata_new, the old tariff of a change inside
  -- the period for every day billed and each later one for its own. Prices as the run's (billing.period_charges): the
  -- tariff's monthly price on the first day it is billed (catalog.price_for: less the bundle's and
  -- the group discount) in the product's price mode, times the period's months and the days over
  -- the period's days, rounded to hellers, the amount with VAT derived once (billing.derived_amounts;
  -- no VAT for an operator that is not a VAT payer, none added under reverse charge); the period
  -- that holds the service's first day owes the tariff's setup fee too. When the
  -- billing core made recurring charges for the period (its run leaves prepaid-credit plans out, so
  -- normally it has none) the period owes them, less those paid one by one
  -- (billing.pay_charge_from_credit). PL/pgSQL with a generic plan so that a session plans it once
  -- (planning takes tens of milliseconds; an SQL function's query, or a custom plan, is planned at
  -- every call, twice per top-up); the branches on the parameters are chosen when it runs.
  -- Internal: no grant.
  return query
  with days as (
    select o.id as operator_id, o.vat_payer, coalesce(p_today, crm.business_date(o.id)) as today
      from crm.operators o
     where p_operator_id is null or o.id = p_operator_id
  ),
  -- The period that holds today of each running service: months counted from year 0, the month of
  -- the period that holds the first billed day and of the billing day on or before today; the
  -- period that holds today starts a whole number of periods after the first one.
  -- (One customer's services by their index at a top-up; the branch whose condition on the
  -- parameters is false is skipped when the query starts.)
  services as not materialized (
    select s.* from crm.services s where p_customer_id is not null and s.customer_id = p_customer_id
    union all
    select s.* from crm.services s where p_customer_id is null
  ),
  running as (
    select s.id as service_id, daterange(f.first_day, (f.first_day + make_interval(months => s.period_months))::date)
           as period
      from services s
      join billing.plans bp on bp.id = s.billing_plan_id and bp.prepaid_credit
      join days d on d.operator_id = s.operator_id
     cross join lateral (select coalesce(s.bill_from, lower(s.valid)) as first_billed) b
     cross join lateral (
       select (extract(year from b.first_billed) * 12 + extract(month from b.first_billed) - 1)::integer
              - case when extract(day from b.first_billed) < s.billing_day then 1 else 0 end as first_no,
              (extract(year from d.today) * 12 + extract(month from d.today) - 1)::integer
              - case when extract(day from d.today) < s.billing_day then 1 else 0 end as today_no
     ) m
     cross join lateral (
       select make_date(x.month_no / 12, x.month_no % 12 + 1, s.billing_day) as first_day
         from (select m.today_no - (m.today_no - m.first_no) % s.period_months as month_no) x
     ) f
     where s.state in ('active', 'blocked')
       and s.valid @> d.today
       and b.first_billed <= d.today
  ),
  -- Periods paid from credit that are not over yet.
  open_paid as (
    select distinct m.service_id, m.period
      from services s
      join days d on d.operator_id = s.operator_id
      join billing.credit_movements m on m.service_id = s.id
     where m.period is not null and upper(m.period) > d.today
  ),
  candidates as (
    select x.service_id, x.period, bool_or(x.current) as current
      from (select r.service_id, r.period, true as current from running r
            union all
            select o.service_id, o.period, false from open_paid o) x
     group by x.service_id, x.period
  ),
  spans as (
    select c.service_id, c.period, c.current, s.customer_id, s.operator_id, s.state, s.bundle_id, s.period_months,
           s.suspended, bp.tariff_change, bp.reverse_charge, d.vat_payer,
           c.period * s.valid * daterange(coalesce(s.bill_from, lower(s.valid)), null) as covered,
           billing.days_in(c.period) as period_days
      from candidates c
      join crm.services s on s.id = c.service_id
      join billing.plans bp on bp.id = s.billing_plan_id
      join days d on d.operator_id = s.operator_id
  ),
  segments as (
    -- full_old_prorata_new: the old tariff of a change inside the period (the one that holds the
    -- first day billed and ends before the last) all the days billed, as billing.period_charges.
    select sp.service_id, sp.period, st.tariff_id,
           case when sp.tariff_change = 'full_old_prorata_new' and lower(st.valid) <= lower(sp.covered)
                     and upper(st.valid) < upper(sp.covered)
                then sp.covered else sp.covered * st.valid end as seg
      from spans sp
      join crm.service_tariffs st on st.service_id = sp.service_id and st.valid && sp.covered
  ),
  priced as (
    select g.service_id, g.period, sum(a.amount_with_vat) as owed
      from segments g
      join spans sp on sp.service_id = g.service_id and sp.period = g.period
     cross join lateral (
       select billing.days_in(g.seg) - billing.days_in(g.seg * coalesce(sp.suspended, 'empty'::daterange)) as days
     ) n
      left join lateral catalog.price_for(g.tariff_id, lower(g.seg), sp.bundle_id, sp.customer_id) pf on true
     cross join lateral billing.derived_amounts(
       round(coalesce(case pf.price_mode when 'with_vat' then pf.monthly_with_vat else pf.monthly_without_vat end,
                      billing.no_price(g.service_id, g.tariff_id, lower(g.seg)))
             * sp.period_months * n.days / sp.period_days, 2),
       pf.price_mode, case when sp.vat_payer then pf.vat_rate end, sp.reverse_charge
     ) a
     where n.days > 0
     group by g.service_id, g.period
  ),
  setup as (
    -- The tariff's setup fee with the period that holds the service's first day, as the run charges it.
    select sp.service_id, sp.period, a.amount_with_vat as owed
      from spans sp
      join crm.services s on s.id = sp.service_id
      join crm.service_tariffs st on st.service_id = s.id and st.valid @> lower(s.valid)
     cross join lateral catalog.tariff_price(st.tariff_id, lower(s.valid)) tp
     cross join lateral billing.derived_amounts(tp.setup_fee, tp.price_mode, case when sp.vat_payer then tp.vat_rate end,
                                                sp.reverse_charge) a
     where sp.period @> lower(s.valid) and tp.setup_fee > 0
  ),
  charged as (
    -- The period's recurring charges, less those paid from credit one by one.
    select y.service_id, y.period, count(*) as charges,
           coalesce(sum(y.amount_with_vat) filter (where not y.paid), 0) as owed,
           case when count(*) = 1 then min(y.id) filter (where not y.paid) end as charge_id
      from (select ch.id, ch.service_id, ch.period, ch.amount_with_vat,
                   exists (select from billing.credit_movements z where z.charge_id = ch.id) as paid
              from billing.charges ch
              join spans sp on sp.service_id = ch.service_id and sp.period = ch.period
             where ch.kind = 'recurring' and ch.corrects_id is null) y
     group by y.service_id, y.period
  ),
  paid as (
    select m.service_id, lower(m.period) as first_day, sum(-m.free_delta - m.reserved_delta) as paid
      from billing.credit_movements m
      join spans sp on sp.service_id = m.service_id and lower(sp.period) = lower(m.period)
     where m.kind in ('spend', 'return')
     group by m.service_id, lower(m.period)
  )
  select sp.service_id, sp.customer_id, sp.operator_id, sp.state, sp.current, sp.period,
         nullif(sp.covered, 'empty'::daterange), o.owed, coalesce(pd.paid, 0), o.owed - coalesce(pd.paid, 0),
         case when coalesce(pd.paid, 0) = 0 then ch.charge_id end
    from spans sp
    left join priced pr on pr.service_id = sp.service_id and pr.period = sp.period
    left join setup su on su.service_id = sp.service_id and su.period = sp.period
    left join charged ch on ch.service_id = sp.service_id and ch.period = sp.period
    left join paid pd on pd.service_id = sp.service_id and pd.first_day = lower(sp.period)
   cross join lateral (
     select case when ch.charges > 0 then ch.owed else coalesce(pr.owed, 0) + coalesce(su.owed, 0) end as owed
   ) o
   where o.owed <> coalesce(pd.paid, 0);
end;
$$;
comment on function billing.prepaid_due(date, bigint, bigint) is
'What prepaid-credit services owe their credit for their periods, or are owed back (internal).';
revoke all on function billing.prepaid_due(date, bigint, bigint) from public;

create or replace function billing.renew_prepaid_services(
    p_today date, p_operator_id bigint, p_customer_id bigint, p_block boolean,
    out renewed integer, out amount numeric, out returned numeric, out blocked integer, out unblocked integer
)
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- UC-2, set-based: settle what the prepaid-credit services owe (billing.prepaid_due) with each
-- customer's money credit: first give back what paid periods no longer cost (returns), then pay
-- what is owed, in service order while the free balance covers it (a service that does not fit is
-- not paid, nor any later one of that account). Then, if p_block, block with block_kind 'system'
-- and reason 'credit' the running services whose current period is left unpaid, and lift the
-- credit blocks of services with nothing left to pay (or no longer on a prepaid-credit plan).
-- Blocks and unblocks go through crm.block_service and crm.unblock_service: each state change is
-- audited and told to provisioning. A block by a person is never lifted (none is asked), nor a
-- system block for another reason. The accounts, then the services, are locked first in id order,
-- so concurrent top-ups and runs wait for one another and read what the other left. Called by
-- billing.renew_prepaid (the job) and by every money top-up (for its customer, without blocking);
-- no grant.
declare
  v_services bigint[];
  v_customers bigint[];
  v_unpaid bigint[];
  v_to_block bigint[];
begin
  select coalesce(array_agg(distinct d.service_id), '{}'), coalesce(array_agg(distinct d.customer_id), '{}')
    into v_services, v_customers
    from billing.prepaid_due(p_today, p_operator_id, p_customer_id) d;
  perform 1
     from billing.credit_accounts a
    where a.kind = 'money' and a.customer_id in (select unnest(v_customers))
      and (p_operator_id is null or a.operator_id = p_operator_id)
    order by a.id
      for update;
  perform 1
     from crm.services s
    where s.id in (select unnest(v_services)
                   union
                   select x.id from crm.services x
                    where x.state = 'blocked' and x.block_kind = 'system' and x.block_reason = 'credit'
                      and (p_operator_id is null or x.operator_id = p_operator_id)
                      and (p_customer_id is null or x.customer_id = p_customer_id))
    order by s.id
      for update;

  -- After the locks, what is due now (a concurrent top-up or renewal may have paid some of it).
  with due as (
    select d.*, a.id as account_id, a.free,
           sum(greatest(-d.amount, 0)) over (partition by a.id) as back,
           sum(greatest(d.amount, 0)) over (partition by a.id order by d.service_id, lower(d.period)
                                            rows between unbounded preceding and current row) as running
      from billing.prepaid_due(p_today, p_operator_id, p_customer_id) d
      left join billing.credit_accounts a
        on a.customer_id = d.customer_id and a.operator_id = d.operator_id and a.kind = 'money'
  ), moving as (
    select due.*, case when due.amount < 0 then 'return' else 'spend' end as kind, abs(due.amount) as value
      from due
     where due.account_id is not null and (due.amount < 0 or due.running <= due.free + due.back)
  ), settled as (
    update billing.credit_accounts a
       set free = a.free + t.back - t.spent,
           last_spent_at = case when t.spent > 0 then now() else a.last_spent_at end
      from (select m.account_id, coalesce(sum(m.value) filter (where m.kind = 'return'), 0) as back,
                   coalesce(sum(m.value) filter (where m.kind = 'spend'), 0) as spent
              from moving m group by m.account_id) t
     where a.id = t.account_id
  ), moved as (
    insert into billing.credit_movements (account_id, kind, amount, service_id, period, covered, charge_id,
                                          created_by, db_role)
    select m.account_id, m.kind, m.value, m.service_id, m.period, m.covered,
           case when m.kind = 'spend' then m.charge_id end, auth.user_id(), auth.caller_role()
      from moving m
    returning billing.credit_movements.kind, billing.credit_movements.amount
  ), unpaid as (
    select u.service_id, u.state, u.current
      from due u
     where u.amount > 0 and (u.account_id is null or u.running > u.free + u.back)
  )
  select x.renewed, x.amount, x.returned, y.unpaid, y.to_block
    into renewed, amount, returned, v_unpaid, v_to_block
    from (select count(*) filter (where m.kind = 'spend')::integer as renewed,
                 coalesce(sum(m.amount) filter (where m.kind = 'spend'), 0)::numeric(14, 2) as amount,
                 coalesce(sum(m.amount) filter (where m.kind = 'return'), 0)::numeric(14, 2) as returned
            from moved m) x
   cross join (select coalesce(array_agg(distinct u.service_id), '{}') as unpaid,
                      coalesce(array_agg(distinct u.service_id) filter (where u.state = 'active' and u.current), '{}')
                      as to_block
                 from unpaid u) y;

  blocked := 0;
  if p_block then
    perform crm.block_service(s.id, 'system', 'credit')
       from crm.services s
      where s.id in (select unnest(v_to_block)) and s.state = 'active'
      order by s.id;
    get diagnostics blocked = row_count;
  end if;

  perform crm.unblock_service(s.id, 'system')
     from crm.services s
    where s.state = 'blocked' and s.block_kind = 'system' and s.block_reason = 'credit'
      and (p_operator_id is null or s.operator_id = p_operator_id)
      and (p_customer_id is null or s.customer_id = p_customer_id)
      and s.id not in (select unnest(v_unpaid))
    order by s.id;
  get diagnostics unblocked = row_count;
end;
$$;
comment on function billing.renew_prepaid_services(date, bigint, bigint, boolean) is
'Settle prepaid periods with credit, block (system, credit) what is unpaid, unblock what is paid (internal).';
revoke all on function billing.renew_prepaid_services(date, bigint, bigint, boolean) from public;

create or replace function billing.renew_prepaid(
    p_today date default null, p_operator_id bigint default null,
    out renewed integer, out amount numeric, out returned numeric, out blocked integer, out unblocked integer
)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: the credit tables are written only by these functions. The job billing.renew_prepaid
-- (the scheduler agent, daily after the business day's midnight; billing and administrators may
-- run it): renew every prepaid-credit service whose period has begun by p_today (at most each
-- operator's business date), give back what paid periods no longer cost, block those without
-- enough credit, unblock those paid. renewed counts the spends, amount and returned sum them and
-- the returns. A second run of the same day pays nothing twice.
declare
  v_latest date := case when p_operator_id is null then crm.earliest_business_date()
                        else crm.business_date(p_operator_id) end;
begin
  if not (auth.may('billing') or auth.has_role('agent_scheduler')) then
    raise exception 'renewing prepaid services needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  if p_operator_id is not null and not exists (select from crm.operators o where o.id = p_operator_id) then
    raise exception 'operator % does not exist', p_operator_id using errcode = 'MG860', column = 'operator';
  end if;
  if p_today > v_latest then
    raise exception 'prepaid services are renewed up to today (%), not on %', v_latest, p_today
      using errcode = 'MG860', column = 'today';
  end if;
  select r.renewed, r.amount, r.returned, r.blocked, r.unblocked into renewed, amount, returned, blocked, unblocked
    from billing.renew_prepaid_services(p_today, p_operator_id, null, true) r;
end;
$$;
comment on function billing.renew_prepaid(date, bigint) is
'UC-2: renew prepaid services from credit, block those short of credit, unblock those paid (billing, scheduler).';
revoke all on function billing.renew_prepaid(date, bigint) from public;
grant execute on function billing.renew_prepaid(date, bigint) to mango_billing, mango_agent_scheduler;

-- ---------------------------------------------------------------------------------------------
-- row-level security, audit, reads

alter table billing.credit_accounts enable row level security;
alter table billing.credit_movements enable row level security;
alter table billing.credit_reservations enable row level security;
alter table billing.gift_certificates enable row level security;
do $$
declare
  v_table text;
begin
  foreach v_table in array array['credit_accounts', 'credit_movements', 'credit_reservations', 'gift_certificates'] loop
    execute format('drop policy if exists staff_select_all on billing.%I', v_table);
    execute format('create policy staff_select_all on billing.%I for select to mango_staff using (true)', v_table);
  end loop;
end;
$$;
-- Support and billing read the credit (the desk and the customer card); nobody writes the tables
-- but the functions above.
grant select on billing.credit_accounts, billing.credit_movements, billing.credit_reservations,
billing.gift_certificates to mango_support, mango_billing;

select audit.enable('billing.credit_accounts');
select audit.enable('billing.credit_reservations');
select audit.enable('billing.gift_certificates');
