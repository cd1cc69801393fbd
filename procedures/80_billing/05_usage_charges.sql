-- Usage charges (BIL-3) as the billing run takes them: one function, whose body the rating
-- (procedures/80_billing/40_rating.sql, applied after this file) replaces with `create or replace`
-- and the same signature and columns. Until it does, there is no usage to bill.

create or replace function billing.usage_charges(p_operator_id bigint, p_period daterange)
returns table (
    service_id bigint,
    key text,
    description text,
    quantity numeric,
    unit text,
    amount numeric,
    price_mode text,
    vat_class text,
    covered daterange
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The usage of the operator's services over a usage period (a month) that a billing run bills:
  -- one row per service and key (what it is: 'calls', 'data', 'ppv:<id>'; unique per service and
  -- period, so that a second run creates nothing), with a description for the document line,
  -- quantity and unit, the amount rounded to hellers in the price mode given ('with_vat' or
  -- 'without_vat': the run derives the other amount with the rate on the tax point), the VAT class
  -- ('standard', 'reduced', 'second_reduced', 'zero') and the days covered (inside p_period).
  -- The run inserts them as charges of kind 'usage' for services whose plan bills usage of that
  -- period (billing.plans.usage_mode). Included units pro rata: billing.included_shares.
  select null::bigint, null::text, null::text, null::numeric, null::text, null::numeric, null::text, null::text,
         null::daterange
   where false;
$$;
comment on function billing.usage_charges(bigint, daterange) is
'The usage of an operator''s services over a period, as the billing run charges it (rating fills it in).';
revoke all on function billing.usage_charges(bigint, daterange) from public;
grant execute on function billing.usage_charges(bigint, daterange) to mango_billing, mango_agent_scheduler;
