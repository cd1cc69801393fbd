-- Charges (předpisy) of a billing period, computed set-based (BIL-2, CAT-6, DUN-4).
--
-- A service is billed by periods of period_months months that start on its billing_day, counted
-- from the period that holds its first billed day (bill_from). The run of a month bills, for each
-- service, the period its plan's mode points at: the one starting in the next month (prepaid), in
-- the run's month (actual) or in the month before (postpaid). Inside a period a service is billed
-- pro rata by days for what it was running: from its start (or bill_from) to its end, less the
-- days of its suspension (crm.services.suspended; a block is billed, DUN-4). Each tariff it had
-- in the period is billed for its own days (prorata_both), or the first one for all the days from
-- its start and each later one for its own (full_old_prorata_new: the old tariff's whole fee and
-- the new one pro rata, CAT-6). A tariff's monthly price is catalog.price_for's on the first day
-- it is billed in the period (list price less the bundle's and the group discount), times the
-- period's months, times days over the period's days, rounded to hellers in the product's price
-- mode; the other amount is derived from it with the VAT rate on the tax point. A price change
-- inside a period takes effect from the next period (or the next tariff change).

create or replace function billing.checked_period(p_period text)
returns date
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
-- A month as 'YYYY-MM' (or a date 'YYYY-MM-DD' in it): its first day; else an error naming the period.
declare
  v_date date;
begin
  begin
    if p_period ~ '^\d{4}-\d{2}$' then
      v_date := (p_period || '-01')::date;
    elsif p_period ~ '^\d{4}-\d{2}-\d{2}$' then
      v_date := p_period::date;
    else
      raise exception using errcode = '22007';
    end if;
  exception when invalid_datetime_format or datetime_field_overflow then
    raise exception 'the period is a month (YYYY-MM), not %', coalesce(quote_literal(left(p_period, 40)), 'none')
      using errcode = 'MG042', column = 'period';
  end;
  return date_trunc('month', v_date)::date;
end;
$$;
comment on function billing.checked_period(text) is 'The first day of a month given as YYYY-MM (or a date in it).';
revoke all on function billing.checked_period(text) from public;
grant execute on function billing.checked_period(text) to mango_office, mango_agent_scheduler;

create or replace function billing.period_of(
    p_service_start date, p_period_months integer, p_billing_day integer, p_month date
)
returns daterange
language sql immutable security invoker
as $$
  -- The billing period of a service that starts in a month, or null when none starts in it: periods
  -- of p_period_months months from its billing day, counted from the one that holds
  -- p_service_start (the first billed day: the period starts in its month if it is on or after the
  -- billing day, else in the month before). [inlined]: one expression of immutable parts (date
  -- arithmetic on timestamp, not timestamptz), so that the planner inlines it into the run's query.
  select case when ((extract(year from p_month)::integer * 12 + extract(month from p_month)::integer)
                    - (extract(year from p_service_start - (p_billing_day - 1))::integer * 12
                       + extract(month from p_service_start - (p_billing_day - 1))::integer))
                   % p_period_months = 0
              then daterange(pg_catalog.date_trunc('month', p_month::timestamp)::date + (p_billing_day - 1),
                             (pg_catalog.date_trunc('month', p_month::timestamp)
                              + pg_catalog.make_interval(months => p_period_months))::date + (p_billing_day - 1))
         end;
$$;
comment on function billing.period_of(date, integer, integer, date) is
'The billing period of a service starting in a month (null: none starts then). [inlined]';
revoke all on function billing.period_of(date, integer, integer, date) from public;
grant execute on function billing.period_of(date, integer, integer, date) to mango_billing;

create or replace function billing.days_in(p_range daterange)
returns integer
language sql immutable security invoker
as $$
  -- How many days a bounded date range holds (0 when empty). [inlined]
  select coalesce(upper(p_range) - lower(p_range), 0);
$$;
comment on function billing.days_in(daterange) is 'The number of days of a bounded date range (0: empty). [inlined]';
revoke all on function billing.days_in(daterange) from public;
grant execute on function billing.days_in(daterange) to mango_billing;

drop function if exists billing.derived_amounts(numeric, text, numeric, boolean);
create or replace function billing.derived_amounts(
    p_amount numeric, p_price_mode text, p_vat_rate numeric, p_reverse_charge boolean
)
returns table (amount_without_vat numeric, amount_with_vat numeric)
language sql immutable security invoker
as $$
  -- An amount in its price mode and the other derived from it once with the VAT rate (§ 37): from
  -- an amount with VAT the tax is computed "shora" (amount × rate / (100 + rate), to hellers) and
  -- the base is the rest; from a base the tax is base × rate / 100 ("zdola"). A null rate is
  -- outside VAT (both the same); reverse charge bills the base and no VAT. [inlined]: a one-row
  -- table function the planner inlines into the FROM clause of the query that calls it.
  select case when p_vat_rate is null or p_price_mode = 'without_vat' then p_amount
              else p_amount - round(p_amount * p_vat_rate / (100 + p_vat_rate), 2) end,
         case when p_vat_rate is null then p_amount
              when p_price_mode = 'with_vat' and not p_reverse_charge then p_amount
              when p_price_mode = 'with_vat' then p_amount - round(p_amount * p_vat_rate / (100 + p_vat_rate), 2)
              when p_reverse_charge then p_amount
              else p_amount + round(p_amount * p_vat_rate / 100, 2) end;
$$;
comment on function billing.derived_amounts(numeric, text, numeric, boolean) is
'An amount in its price mode and the other one derived with the VAT rate (reverse charge: no VAT). [inlined]';
revoke all on function billing.derived_amounts(numeric, text, numeric, boolean) from public;

create or replace function billing.no_price(p_service_id bigint, p_tariff_id bigint, p_on date)
returns numeric
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Raised from inside a charge computation: a tariff without a price would be billed as nothing.
begin
  raise exception 'service % cannot be billed: its tariff % has no price on %', p_service_id, p_tariff_id, p_on
    using errcode = 'MG046', column = 'tariff_id';
end;
$$;
comment on function billing.no_price(bigint, bigint, date) is 'Refuse to bill a tariff that has no price on a day.';
revoke all on function billing.no_price(bigint, bigint, date) from public;

create or replace function billing.service_periods(
    p_operator_id bigint, p_month date, p_usage_period daterange default null
)
returns table (service_id bigint, plan_id bigint, period daterange, billed daterange)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The billing period of each service of the operator that the run of a month bills (its plan's
  -- mode: the period starting in the next month, this month or the month before), or, with
  -- p_usage_period, that period for every service (included units of a usage period); with the
  -- days it is billed for inside it (from its first billed day to its end; suspensions are taken
  -- off by the callers).
  select s.id, s.billing_plan_id, x.period, x.period * s.valid * daterange(coalesce(s.bill_from, lower(s.valid)), null)
    from crm.services s
    join billing.plans pl on pl.id = s.billing_plan_id
   cross join lateral (
     select coalesce(p_usage_period,
                     billing.period_of(coalesce(s.bill_from, lower(s.valid)), s.period_months, s.billing_day,
                                       (p_month + pg_catalog.make_interval(
                                                    months => case pl.mode when 'prepaid' then 1
                                                                           when 'postpaid' then -1 else 0 end))::date))
              as period
   ) x
   where s.operator_id = p_operator_id and x.period && s.valid;
$$;
comment on function billing.service_periods(bigint, date, daterange) is
'The billing period of each service that a month''s run bills, and the days it is billed for in it.';
revoke all on function billing.service_periods(bigint, date, daterange) from public;
-- billing.included_shares (billing's, the rating's) reads through it as the caller.
grant execute on function billing.service_periods(bigint, date, daterange) to mango_billing;

create or replace function billing.tariff_days(
    p_operator_id bigint, p_month date, p_usage_period daterange default null
)
returns table (
    service_id bigint, plan_id bigint, period daterange, tariff_id bigint, service_tariff_id bigint, covered daterange,
    days integer, period_days integer
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- For each service of the operator and its billing period (billing.service_periods), each tariff
  -- it had there with the days it is billed for: the days of its tariff period that the service
  -- ran, less the suspension; under full_old_prorata_new the old tariff of a change inside the
  -- period (the one that holds the first day billed and ends before the last) counts every day
  -- from the first (its whole fee), the later ones their own days. covered is the span. The same
  -- rule as billing.period_charges, which the run uses.
  with tariffs as (
    select sp.service_id, sp.plan_id, sp.period, sp.billed, s.suspended, pl.tariff_change, st.id as st_id,
           st.tariff_id, st.valid as st_valid
      from billing.service_periods(p_operator_id, p_month, p_usage_period) sp
      join crm.services s on s.id = sp.service_id
      join billing.plans pl on pl.id = sp.plan_id
      join crm.service_tariffs st on st.service_id = sp.service_id and st.valid && sp.billed
  ),
  segments as (
    select t.*,
           t.billed * case when t.tariff_change = 'full_old_prorata_new' and lower(t.st_valid) <= lower(t.billed)
                                and upper(t.st_valid) < upper(t.billed)
                           then daterange(lower(t.st_valid), null) else t.st_valid end as covered
      from tariffs t
  )
  select g.service_id, g.plan_id, g.period, g.tariff_id, g.st_id, g.covered,
         billing.days_in(g.covered) - billing.days_in(g.covered * coalesce(g.suspended, 'empty'::daterange)),
         billing.days_in(g.period)
    from segments g
   where billing.days_in(g.covered) > billing.days_in(g.covered * coalesce(g.suspended, 'empty'::daterange));
$$;
comment on function billing.tariff_days(bigint, date, daterange) is
'The days each tariff of each service is billed for in its billing period (pro rata, by the plan''s rule).';
revoke all on function billing.tariff_days(bigint, date, daterange) from public;
-- billing.included_shares (billing's, the rating's) reads through it as the caller.
grant execute on function billing.tariff_days(bigint, date, daterange) to mango_billing;

create or replace function billing.included_shares(p_operator_id bigint, p_period daterange)
returns table (service_id bigint, tariff_id bigint, days integer, period_days integer, share numeric)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The share of a usage period's included units (free minutes, SMS, data) each tariff gives each
  -- service of the operator, by the same rule as its fee (CAT-6): days billed over the period's
  -- days; under full_old_prorata_new the old tariff's units whole and the new tariff's pro rata.
  -- The rating multiplies a tariff's included units by share.
  select td.service_id, td.tariff_id, sum(td.days)::integer, max(td.period_days),
         sum(td.days)::numeric / max(td.period_days)
    from billing.tariff_days(p_operator_id, lower(p_period), p_period) td
   group by td.service_id, td.tariff_id;
$$;
comment on function billing.included_shares(bigint, daterange) is
'The pro-rated share of a period''s included units each tariff gives each service (rating uses it).';
revoke all on function billing.included_shares(bigint, daterange) from public;
grant execute on function billing.included_shares(bigint, daterange) to mango_billing;

create or replace function billing.period_charges(p_operator_id bigint, p_month date)
returns table (
    service_id bigint, customer_id bigint, payer_id bigint, plan_id bigint, kind text, period daterange,
    covered daterange, days integer, period_days integer, tariff_id bigint, description text, quantity numeric,
    unit text, unit_price numeric, discount_percent numeric, price_mode text, amount_without_vat numeric,
    amount_with_vat numeric, vat_class text, vat_rate numeric, reverse_charge boolean, tax_point date,
    document_kind text, due_days integer, bill_separately boolean, key text, prepaid_credit boolean
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The fixed charges the run of a month would make for the operator's services: a recurring fee
  -- per tariff and billing period not charged yet (a period with any recurring fee charged is
  -- left out whole, with its setup fee: the run charges both at once) and the tariff's setup fee
  -- for a service that starts in its billing period (the run leaves out one charged before). Services on a prepaid-credit plan are in it too
  -- (marked): their renewal from credit (UC-2) charges them, the run does not. Amounts in the
  -- product's price mode, the other derived with the rate on the tax point (the period's last day;
  -- the operator's today for a tax point on the issue or payment day, which the document then has).
  --
  -- One flat query, so that the planner joins everything by hash (a benchmark run bills 250,000
  -- services): the rules are those of billing.period_of (the periods: a small table of every
  -- period that starts in the three months a plan's mode can point at, per length and billing day,
  -- joined by the service's first period's month), billing.tariff_days (the days of each tariff,
  -- the old tariff of a change whole under full_old_prorata_new: the one that holds the first day
  -- billed and ends before the last), and catalog.price_for (each tariff's price once per day it is
  -- priced on, catalog.tariff_price; then the bundle's and the group discount one after the other,
  -- rounded to hellers in the product's price mode: the test billing_prorata compares the two).
  with op as materialized (
    select o.id, o.vat_payer, crm.business_date(o.id) as today from crm.operators o where o.id = p_operator_id
  ),
  starts as materialized (
    -- every billing period that starts from thirteen months before the run's month to the next
    -- one: per offset from the run's month (the plan's mode; the earlier ones for a catch-up),
    -- length and billing day, with the index of its month (year × 12 + month)
    select x.off, x.months, x.day, daterange(x.lo, x.hi) as period, x.lo, x.hi, x.hi - x.lo as period_days,
           x.month_index
      from (select m.off, l.months, d.day, m.first + d.day - 1 as lo,
                   (m.first + pg_catalog.make_interval(months => l.months))::date + d.day - 1 as hi,
                   extract(year from m.first)::integer * 12 + extract(month from m.first)::integer as month_index
              from (select o.off, (p_month + pg_catalog.make_interval(months => o.off))::date as first
                      from generate_series(-13, 1) o (off)) m
             cross join unnest(array[1, 2, 3, 6, 12]) l (months)
             cross join generate_series(1, 28) d (day)) x
  ),
  runs_done as materialized (
    -- the months of the twelve before that the operator's billing ran for (and was not cancelled)
    select distinct r.period
      from billing.runs r
     where r.operator_id = p_operator_id and r.state in ('done', 'issued')
       and r.period >= (p_month - interval '12 months')::date and r.period < p_month
  ),
  services as materialized (
    -- the services billed for a period that starts in the run's month (as their plan's mode says),
    -- and the days they are billed for in it, b_lo to b_hi (plain dates: range operators on every
    -- row cost more than the rest of the query). A service that is or was running: not one still
    -- ordered. Catch-up: a service whose first billed day is at most thirteen months before the
    -- run's month also has its earlier periods (up to twelve months back) that a finished run of
    -- the operator billed, as its mode says, before the service started or while it was still
    -- ordered: the run charges those of them that were never charged. A month no run billed is
    -- not caught up (its own run bills it), nor is the history of a first run.
    select x.*, greatest(x.lo, lower(x.valid), coalesce(x.bill_from, lower(x.valid))) as b_lo,
           least(x.hi, coalesce(upper(x.valid), x.hi)) as b_hi
      from (select s.id as service_id, s.customer_id, s.bundle_id, s.bill_separately, s.period_months, s.suspended,
                   s.valid, s.bill_from, s.billing_plan_id as plan_id, pl.tariff_change, pl.fixed_document,
                   pl.tax_point_rule, pl.due_days, pl.prepaid_credit, pl.reverse_charge, st.period, st.lo, st.hi,
                   st.period_days, st.month_index, s.billing_day
              from crm.services s
              join billing.plans pl on pl.id = s.billing_plan_id
              join starts st on st.off = case pl.mode when 'prepaid' then 1 when 'postpaid' then -1 else 0 end
                            and st.months = s.period_months and st.day = s.billing_day
             where s.operator_id = p_operator_id and s.state <> 'ordered'
            union all
            select s.id, s.customer_id, s.bundle_id, s.bill_separately, s.period_months, s.suspended, s.valid,
                   s.bill_from, s.billing_plan_id, pl.tariff_change, pl.fixed_document, pl.tax_point_rule, pl.due_days,
                   pl.prepaid_credit, pl.reverse_charge, st.period, st.lo, st.hi, st.period_days, st.month_index,
                   s.billing_day
              from crm.services s
              join billing.plans pl on pl.id = s.billing_plan_id
              join starts st on st.months = s.period_months and st.day = s.billing_day
                            and st.off < case pl.mode when 'prepaid' then 1 when 'postpaid' then -1 else 0 end
                            and st.off >= case pl.mode when 'prepaid' then 1 when 'postpaid' then -1 else 0 end - 12
              join runs_done rd
                on rd.period = (p_month + pg_catalog.make_interval(
                                            months => st.off - case pl.mode when 'prepaid' then 1
                                                                            when 'postpaid' then -1 else 0 end))::date
             where s.operator_id = p_operator_id and s.state <> 'ordered'
               and coalesce(s.bill_from, lower(s.valid)) >= (p_month - interval '13 months')::date
               and coalesce(s.bill_from, lower(s.valid)) < st.hi) x
     where (x.month_index
            - (extract(year from coalesce(x.bill_from, lower(x.valid)) - (x.billing_day - 1))::integer * 12
               + extract(month from coalesce(x.bill_from, lower(x.valid)) - (x.billing_day - 1))::integer))
           % x.period_months = 0
       and lower(x.valid) < x.hi and (upper_inf(x.valid) or upper(x.valid) > x.lo)
       -- a period with fees charged is not charged again (a second run prices nothing)
       and not exists (select from billing.charges c
                        where c.service_id = x.service_id and c.kind = 'recurring' and c.period = x.period
                          and c.key is not null)
  ),
  segments as (
    -- each tariff the service had on the days billed: its own days, or (full_old_prorata_new) the
    -- old tariff of a change inside the period all the days from the first billed
    select sv.*, st.tariff_id, st.id as st_id,
           case when sv.tariff_change = 'full_old_prorata_new' and lower(st.valid) <= sv.b_lo
                     and upper(st.valid) < sv.b_hi then sv.b_lo
                else greatest(sv.b_lo, lower(st.valid)) end as c_lo,
           case when sv.tariff_change = 'full_old_prorata_new' and lower(st.valid) <= sv.b_lo
                     and upper(st.valid) < sv.b_hi then sv.b_hi
                else least(sv.b_hi, coalesce(upper(st.valid), sv.b_hi)) end as c_hi
      from services sv
      join crm.service_tariffs st on st.service_id = sv.service_id
     where sv.b_lo < sv.b_hi and lower(st.valid) < sv.b_hi and (upper_inf(st.valid) or upper(st.valid) > sv.b_lo)
  ),
  fees as (
    -- less the days of a suspension (DUN-4)
    select g.service_id, g.customer_id, g.bundle_id, g.bill_separately, g.period_months, g.plan_id,
           g.fixed_document, g.tax_point_rule, g.due_days, g.prepaid_credit, g.reverse_charge, g.period, g.hi,
           g.period_days, g.tariff_id, 'recurring'::text as kind, 'st:' || g.st_id as key, g.c_lo, g.c_hi,
           g.c_hi - g.c_lo - case when g.suspended is null or isempty(g.suspended) then 0
                                  else greatest(0, least(g.c_hi, coalesce(upper(g.suspended), g.c_hi))
                                                   - greatest(g.c_lo, lower(g.suspended))) end as days
      from segments g
    union all
    select sv.service_id, sv.customer_id, sv.bundle_id, sv.bill_separately, sv.period_months, sv.plan_id,
           sv.fixed_document, sv.tax_point_rule, sv.due_days, sv.prepaid_credit, sv.reverse_charge, sv.period, sv.hi,
           sv.period_days, st.tariff_id, 'one_time', 'setup', lower(sv.valid), lower(sv.valid) + 1, null
      from services sv
      join crm.service_tariffs st on st.service_id = sv.service_id and st.valid @> lower(sv.valid)
     where lower(sv.valid) >= sv.lo
  ),
  billed as (
    select f.*, f.c_lo as price_on, case f.tax_point_rule when 'period_end' then f.hi - 1 end as tax_point
      from fees f
     where f.kind = 'one_time' or f.days > 0
  ),
  prices as materialized (
    select k.tariff_id, k.price_on, tp.monthly_fee, tp.setup_fee
      from (select distinct b.tariff_id, b.price_on from billed b) k
      left join lateral catalog.tariff_price(k.tariff_id, k.price_on) tp on true
  ),
  priced as (
    select b.*, coalesce(c.parent_id, c.id) as payer_id, pr.price_mode, pr.vat_class,
           coalesce(pr.invoice_text, pr.name) as product_text, t.name as tariff_name,
           case when op.vat_payer
                then coalesce(r.rate, catalog.vat_rate(pr.vat_class, coalesce(b.tax_point, op.today))) end as vat_rate,
           coalesce(bi.discount_percent, 0) as bundle_discount, coalesce(cd.percent, 0) as group_discount,
           case b.kind when 'recurring'
                then coalesce(p.monthly_fee, billing.no_price(b.service_id, b.tariff_id, b.price_on)) * b.period_months
                else p.setup_fee end as list_amount,
           case b.kind when 'recurring'
                then round(round(p.monthly_fee * (1 - coalesce(bi.discount_percent, 0) / 100)
                                               * (1 - coalesce(cd.percent, 0) / 100), 2)
                           * b.period_months * b.days / b.period_days, 2)
                else p.setup_fee end as amount
      from billed b
     cross join op
      join crm.customers c on c.id = b.customer_id
      join catalog.tariffs t on t.id = b.tariff_id
      join catalog.products pr on pr.id = t.product_id
      left join prices p on p.tariff_id = b.tariff_id and p.price_on = b.price_on
      left join catalog.vat_rates r on r.vat_class = pr.vat_class and r.valid @> coalesce(b.tax_point, op.today)
      left join catalog.bundle_items bi on bi.bundle_id = b.bundle_id and bi.tariff_id = b.tariff_id and b.kind = 'recurring'
      left join catalog.customer_discounts cd on cd.customer_id = b.customer_id and cd.valid @> b.price_on
                                             and b.kind = 'recurring'
  )
  select a.service_id, a.customer_id, a.payer_id, a.plan_id, a.kind, a.period, daterange(a.c_lo, a.c_hi),
         case a.kind when 'recurring' then a.days end, case a.kind when 'recurring' then a.period_days end,
         a.tariff_id,
         case a.kind when 'recurring' then a.product_text || ' – ' || a.tariff_name
                     else 'Zřízení: ' || a.product_text || ' – ' || a.tariff_name end,
         case when a.kind = 'one_time' then 1::numeric
              when a.days = a.period_days then a.period_months::numeric
              else a.days::numeric end,
         case when a.kind = 'one_time' then null
              when a.days = a.period_days then 'month'
              else 'day' end,
         round(case when a.vat_rate is null or a.price_mode = 'without_vat' then a.list_amount
                    else a.list_amount * 100 / (100 + a.vat_rate) end
               / case when a.kind = 'one_time' then 1
                      when a.days = a.period_days then a.period_months
                      else a.period_days::numeric end, 4),
         case a.kind when 'recurring'
              then round(100 - (100 - a.bundle_discount) * (100 - a.group_discount) / 100, 4) else 0 end,
         a.price_mode, d.amount_without_vat, d.amount_with_vat, a.vat_class, a.vat_rate, a.reverse_charge,
         a.tax_point, a.fixed_document, a.due_days, a.bill_separately, a.key, a.prepaid_credit
    from priced a
   cross join lateral billing.derived_amounts(a.amount, a.price_mode, a.vat_rate, a.reverse_charge) d
   where a.amount <> 0;
$$;
-- Hash joins throughout: the estimates of the CTEs above are far too low for nested loops.
alter function billing.period_charges(bigint, date) set enable_nestloop = off;
-- Its sorts and hashes of a quarter of a million rows in memory, not on disk.
alter function billing.period_charges(bigint, date) set work_mem = '64MB';
comment on function billing.period_charges(bigint, date) is
'The recurring and setup fees a month''s run would charge an operator''s services (pro rata, discounted).';
revoke all on function billing.period_charges(bigint, date) from public;

create or replace function billing.add_charge(
    p_service_id bigint, p_kind text, p_description text, p_amount numeric, p_on date default null,
    p_options jsonb default '{}'
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: charges are written only by the billing functions; the caller's session is checked.
-- A charge staff add on a service (a one-time fee, a manual charge, a discount, a reconnection
-- fee), dated p_on (the operator's today by default): the amount in the product's price mode (or
-- options.price_mode), VAT of the product's class (or options.vat_class) on the tax point, the
-- service's plan for the document, due days and tax point. Options: quantity, unit, price_mode,
-- vat_class, note. The billing run of its month puts it on the customer's document. Its id.
declare
  v_service crm.services;
  v_product catalog.products;
  v_plan billing.plans;
  v_customer crm.customers;
  v_vat_payer boolean;
  v_on date;
  v_mode text;
  v_class text;
  v_quantity numeric;
  v_tax_point date;
  v_rate numeric;
  v_amounts record;
  v_id bigint;
begin
  perform billing.require_billing();
  select * into v_service from crm.services where id = p_service_id;
  if not found then
    raise exception 'service % does not exist', p_service_id using errcode = 'MG046', column = 'service_id';
  end if;
  if p_kind is null or p_kind not in ('one_time', 'manual', 'discount', 'reconnection') then
    raise exception 'a charge added by hand is one_time, manual, discount or reconnection, not %',
      coalesce(quote_literal(left(p_kind, 40)), 'none') using errcode = 'MG046', column = 'kind';
  end if;
  if coalesce(btrim(p_description), '') = '' or length(p_description) > 500 then
    raise exception 'a charge needs a description of at most 500 characters' using errcode = 'MG046',
      column = 'description';
  end if;
  if p_amount is null or p_amount = 0 or p_amount <> round(p_amount, 2) or abs(p_amount) >= 1e12 then
    raise exception 'the amount is in crowns and hellers and not zero, not %', coalesce(p_amount::text, 'none')
      using errcode = 'MG046', column = 'amount';
  end if;
  if (p_kind = 'discount') <> (p_amount < 0) then
    raise exception 'a discount is a negative amount, any other charge a positive one' using errcode = 'MG046',
      column = 'amount';
  end if;
  if p_options is null or jsonb_typeof(p_options) <> 'object' then
    p_options := '{}'::jsonb;
  end if;
  select * into v_product from catalog.products where id = v_service.product_id;
  select * into v_plan from billing.plans where id = v_service.billing_plan_id;
  select * into v_customer from crm.customers where id = v_service.customer_id;
  select o.vat_payer into v_vat_payer from crm.operators o where o.id = v_service.operator_id;
  v_on := coalesce(p_on, crm.business_date(v_service.operator_id));
  v_mode := coalesce(p_options ->> 'price_mode', v_product.price_mode);
  if v_mode not in ('with_vat', 'without_vat') then
    raise exception 'the price mode is with_vat or without_vat, not %', left(v_mode, 40)
      using errcode = 'MG046', column = 'price_mode';
  end if;
  v_class := coalesce(p_options ->> 'vat_class', v_product.vat_class);
  if v_class not in ('standard', 'reduced', 'second_reduced', 'zero') then
    raise exception 'the VAT class is standard, reduced, second_reduced or zero, not %', left(v_class, 40)
      using errcode = 'MG046', column = 'vat_class';
  end if;
  begin
    v_quantity := coalesce((p_options ->> 'quantity')::numeric, 1);
  exception when invalid_text_representation then
    v_quantity := null;
  end;
  if v_quantity is null or v_quantity <= 0 or v_quantity >= 1e9 then
    raise exception 'the quantity is a number above zero' using errcode = 'MG046', column = 'quantity';
  end if;
  if length(p_options ->> 'unit') > 20 or length(p_options ->> 'note') > 2000 then
    raise exception 'the unit has at most 20 characters, the note at most 2,000' using errcode = 'MG046',
      column = case when length(p_options ->> 'unit') > 20 then 'unit' else 'note' end;
  end if;
  v_tax_point := case v_plan.tax_point_rule when 'period_end' then v_on end;
  if v_vat_payer then
    v_rate := catalog.vat_rate(v_class, coalesce(v_tax_point, crm.business_date(v_service.operator_id)));
  end if;
  select * into v_amounts from billing.derived_amounts(p_amount, v_mode, v_rate, v_plan.reverse_charge);
  insert into billing.charges (
    operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered, tariff_id, description, quantity,
    unit, unit_price, price_mode, amount_without_vat, amount_with_vat, vat_class, vat_rate, reverse_charge, tax_point,
    document_kind, due_days, bill_separately, note, created_by
  )
  values (
    v_service.operator_id, v_customer.id, coalesce(v_customer.parent_id, v_customer.id), v_service.id, v_plan.id,
    p_kind, daterange(v_on, v_on + 1), daterange(v_on, v_on + 1), crm.current_tariff(v_service.id, v_on),
    btrim(p_description), v_quantity, nullif(btrim(p_options ->> 'unit'), ''),
    round(v_amounts.amount_without_vat / v_quantity, 4), v_mode, v_amounts.amount_without_vat,
    v_amounts.amount_with_vat, v_class, v_rate, v_plan.reverse_charge, v_tax_point, v_plan.fixed_document,
    v_plan.due_days, v_service.bill_separately, nullif(btrim(p_options ->> 'note'), ''), auth.user_id()
  )
  returning id into v_id;
  return v_id;
end;
$$;
comment on function billing.add_charge(bigint, text, text, numeric, date, jsonb) is
'Add a one-time, manual, discount or reconnection charge on a service; the next run documents it.';
revoke all on function billing.add_charge(bigint, text, text, numeric, date, jsonb) from public;
grant execute on function billing.add_charge(bigint, text, text, numeric, date, jsonb) to mango_billing;
