-- The customer's account (saldo, CRM-4): what was charged, what the issued documents ask to be
-- paid, what was paid, open and overdue, per operator. One function that the customer card and
-- the payments issue both use; its entries are a view that the payments issue extends.

create or replace view billing.account_entries
with (security_invoker = true)
as
-- What a paying customer owes (positive) or has paid or been credited (negative), entry by entry:
-- the issued documents that ask to be paid (invoices, payment requests; credit notes negative),
-- and the charges whose plan issues no document (the charge is the předpis then). Payments (the
-- payments issue) come in as more rows of this union, with negative amounts.
select
    d.customer_id,
    d.operator_id,
    'document'::text as source,
    d.id as document_id,
    null::bigint as charge_id,
    d.kind,
    d.number,
    d.issue_date as entry_date,
    d.due_date,
    d.amount_due as amount,
    d.currency
from billing.documents as d
where d.state = 'issued' and d.amount_due <> 0
union all
select
    c.payer_id as customer_id,
    c.operator_id,
    'charge'::text as source,
    null::bigint as document_id,
    c.id as charge_id,
    c.kind,
    null::text as number,
    coalesce(c.tax_point, lower(c.period)) as entry_date,
    coalesce(c.tax_point, lower(c.period)) + c.due_days as due_date,
    c.amount_with_vat as amount,
    o.currency
from billing.charges as c
inner join crm.operators as o on c.operator_id = o.id
where c.document_kind = 'none';
comment on view billing.account_entries is
'What each paying customer owes or was credited, entry by entry: issued documents, undocumented charges.';
grant select on billing.account_entries to mango_office;

create or replace function billing.accounts(p_operator_id bigint, p_customer_id bigint, p_on date default null)
returns table (
    customer_id bigint, operator_id bigint, currency text, charged numeric, documented numeric, paid numeric,
    balance numeric, open numeric, overdue numeric, credit numeric
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The accounts of one paying customer (p_customer_id; with its operators) or of every paying
-- customer of an operator (p_operator_id), on a day (the operator's today by default): charged
-- (every charge of their services and the branches they pay for), documented (what the issued
-- documents ask to be paid), paid, balance (owed less paid: positive, they owe), open (what they
-- owe), overdue (what they owe that was due before the day: payments and credit notes settle the
-- oldest first) and credit (what they paid beyond what they owe). One query, set-based, reading as
-- the caller; the filter is the customer's or the operator's so that each uses its index.
declare
  v_filter text := case when p_customer_id is not null then 'customer_id = $2' else 'operator_id = $1' end;
begin
  if p_customer_id is null and p_operator_id is null then
    raise exception 'give a customer or an operator' using errcode = 'MG049', column = 'customer_id';
  end if;
  return query execute format($q$
    with entries as (
      select e.customer_id, e.operator_id, e.currency, e.source, e.amount, e.due_date,
             coalesce($3, crm.business_date(e.operator_id)) as on_day
        from billing.account_entries e
       where e.%1$s and ($1 is null or e.operator_id = $1)
         and e.entry_date <= coalesce($3, crm.business_date(e.operator_id))
    ),
    charged as (
      select c.payer_id as customer_id, c.operator_id, sum(c.amount_with_vat) as charged
        from billing.charges c
       where c.%2$s and ($1 is null or c.operator_id = $1)
         and lower(c.period) <= coalesce($3, crm.business_date(c.operator_id))
       group by c.payer_id, c.operator_id
    ),
    sums as (
      select e.customer_id, e.operator_id, max(e.currency) as currency,
             coalesce(sum(e.amount) filter (where e.source = 'document'), 0) as documented,
             coalesce(-sum(e.amount) filter (where e.amount < 0 and e.source = 'payment'), 0) as paid,
             coalesce(sum(e.amount) filter (where e.amount > 0 and e.due_date < e.on_day), 0) as due_debts,
             coalesce(-sum(e.amount) filter (where e.amount < 0), 0) as settled,
             coalesce(sum(e.amount), 0) as balance
        from entries e
       group by e.customer_id, e.operator_id
    )
    select coalesce(s.customer_id, c.customer_id), o.id, coalesce(s.currency, o.currency),
           coalesce(c.charged, 0), coalesce(s.documented, 0), coalesce(s.paid, 0), coalesce(s.balance, 0),
           greatest(coalesce(s.balance, 0), 0), greatest(coalesce(s.due_debts, 0) - coalesce(s.settled, 0), 0),
           greatest(-coalesce(s.balance, 0), 0)
      from sums s
      full join charged c on c.customer_id = s.customer_id and c.operator_id = s.operator_id
      join crm.operators o on o.id = coalesce(s.operator_id, c.operator_id)
     order by 1, 2
  $q$, v_filter, replace(v_filter, 'customer_id', 'payer_id'))
  using p_operator_id, p_customer_id, p_on;
end;
$$;
comment on function billing.accounts(bigint, bigint, date) is
'Paying customers'' accounts on a day (one customer''s, or an operator''s): charged, documented, paid, open, overdue.';
revoke all on function billing.accounts(bigint, bigint, date) from public;
grant execute on function billing.accounts(bigint, bigint, date) to mango_office;

create or replace function billing.customer_account(p_customer_id bigint, p_on date default null)
returns table (
    operator_id bigint, currency text, charged numeric, documented numeric, paid numeric, balance numeric,
    open numeric, overdue numeric, credit numeric
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- A customer's account on a day per operator (billing.accounts): the customer card and the
  -- payments issue read this.
  select a.operator_id, a.currency, a.charged, a.documented, a.paid, a.balance, a.open, a.overdue, a.credit
    from billing.accounts(null, p_customer_id, p_on) a;
$$;
comment on function billing.customer_account(bigint, date) is
'A customer''s account on a day per operator: charged, documented, paid, balance, open, overdue, credit.';
revoke all on function billing.customer_account(bigint, date) from public;
grant execute on function billing.customer_account(bigint, date) to mango_office;

create or replace function billing.operator_accounts(p_operator_id bigint, p_on date default null)
returns table (
    customer_id bigint, currency text, charged numeric, documented numeric, paid numeric, balance numeric,
    open numeric, overdue numeric, credit numeric
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The accounts of every paying customer of an operator on a day (billing.accounts): what is open
  -- and overdue per customer; sum them for the operator's.
  select a.customer_id, a.currency, a.charged, a.documented, a.paid, a.balance, a.open, a.overdue, a.credit
    from billing.accounts(p_operator_id, null, p_on) a;
$$;
comment on function billing.operator_accounts(bigint, date) is
'The account of every paying customer of an operator on a day: charged, documented, paid, open, overdue.';
revoke all on function billing.operator_accounts(bigint, date) from public;
grant execute on function billing.operator_accounts(bigint, date) to mango_office;
