-- Usage charges (BIL-3) as the billing run takes them (billing.run_charges): the rated calls of a
-- usage period as one summary line per service (the calls themselves stay in billing.rated_calls
-- for the call list, billing.call_list and billing.charge_calls), the data volume over the
-- tariff's cap, and the TV pay-per-view purchases. The rating itself is
-- procedures/80_billing/40_rating.sql (billing.rate_calls, called from here when calls came in
-- since the period was last rated); included units pro rata are billing.included_shares
-- (procedures/80_billing/20_charges.sql), the same rule as the fees (CAT-6).

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
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: reads the rated calls, the traffic and the purchases for the billing run (the scheduler
-- reads none of them) and rates the period first when calls came in since it was last rated. The
-- usage of the operator's services over a usage period (a month): one row per service and key,
-- unique per service and period, so that a second run creates nothing:
-- - 'calls': the summary line of the rated calls (the call list is billing.call_list), in the
--   price mode of their rate table ('calls:without_vat' for a rate table without VAT); each call's
--   price was rounded to the haléř when it was rated, the line is their sum;
-- - 'data': the data volume over the tariff's cap (tariff parameters data_cap_gb: GB per period,
--   times the tariff's share of the period, billing.included_shares; and data_price_per_gb), each
--   started GB (10^9 bytes, in and out, from the flow collector's daily crm.customer_traffic) at
--   the price of the last tariff with a cap in the period;
-- - 'ppv:<id>': each pay-per-view purchase of the period's days.
-- Amounts are rounded to hellers in the price mode given; the run derives the other amount with
-- the VAT rate on the tax point and inserts them as charges of kind 'usage' for services whose
-- plan bills usage of that period (billing.plans.usage_mode).
declare
  v_zone text;
  v_last timestamptz;
  v_caps boolean;
begin
  if not (auth.has_role('billing') or auth.has_role('agent_scheduler')) then
    raise exception 'usage charges are the billing run''s: a signed-in user with the billing role'
      using errcode = '42501';
  end if;
  if p_operator_id is null or not exists (select from crm.operators o where o.id = p_operator_id) then
    raise exception 'which operator? there is no operator %', coalesce(p_operator_id::text, '(none given)')
      using errcode = 'MG851', column = 'operator';
  end if;
  if p_period is null or isempty(p_period) or lower_inf(p_period) or upper_inf(p_period) then
    raise exception 'give the usage period as whole days, such as [2026-11-01,2026-12-01)'
      using errcode = 'MG851', column = 'period';
  end if;
  v_zone := crm.business_zone(p_operator_id);
  -- Rate the period when it never was, or when a file with calls of its days came in since.
  select max(r.started_at) into v_last from billing.rating_runs r
   where r.operator_id = p_operator_id and r.period = p_period;
  if exists (select from billing.cdr_imports i
              where i.operator_id = p_operator_id and i.calls > 0
                and (v_last is null or i.imported_at >= v_last)
                and tstzrange(i.first_call, i.last_call, '[]')
                    && tstzrange(lower(p_period)::timestamp at time zone v_zone,
                                 upper(p_period)::timestamp at time zone v_zone)) then
    perform billing.rate_calls(p_operator_id, p_period);
  end if;

  -- Whether any tariff has a data cap: else the shares of the period are not computed at all.
  v_caps := exists (select from crm.parameter_values v
                      join crm.parameter_definitions d on d.id = v.definition_id
                     where d.entity = 'tariff' and d.code = 'data_cap_gb');

  return query
  with calls as (
    select r.service_id, t.price_mode, count(*) as calls, sum(r.charged_seconds - r.free_seconds) as seconds,
           sum(r.price) as amount
      from billing.rated_calls r
      join billing.rating_runs run on run.id = r.run_id
      join billing.destinations d on d.id = r.destination_id
      join billing.rate_tables t on t.id = d.rate_table_id
     where run.operator_id = p_operator_id and run.period = p_period and r.status = 'rated'
     group by r.service_id, t.price_mode
  ), caps as (
    -- The tariffs of the period with a data cap: the cap times the tariff's share of the period.
    select i.service_id, i.tariff_id,
           i.share * max(v.value) filter (where d.code = 'data_cap_gb')::numeric as cap_gb,
           max(v.value) filter (where d.code = 'data_price_per_gb')::numeric as price_per_gb
      from billing.included_shares(p_operator_id, p_period) i
      join crm.parameter_values v on v.entity_id = i.tariff_id
      join crm.parameter_definitions d on d.id = v.definition_id
                                      and d.entity = 'tariff' and d.code in ('data_cap_gb', 'data_price_per_gb')
     where v_caps
     group by i.service_id, i.tariff_id, i.share
  ), capped as (
    -- Per service: the caps of its tariffs added up, the price of the last tariff with a cap.
    select c.service_id, sum(c.cap_gb) as cap_gb,
           (array_agg(c.price_per_gb order by t.since desc))[1] as price_per_gb
      from caps c
     cross join lateral (select max(lower(st.valid)) as since from crm.service_tariffs st
                          where st.service_id = c.service_id and st.tariff_id = c.tariff_id
                            and st.valid && p_period) t
     where c.cap_gb is not null
     group by c.service_id
  ), data as (
    -- The traffic of the days the service had a tariff with a cap.
    select c.service_id, c.cap_gb * 1e9 as cap_bytes, c.price_per_gb, sum(ct.bytes_in + ct.bytes_out) as bytes
      from capped c
      join crm.customer_traffic ct on ct.service_id = c.service_id and ct.day <@ p_period
     where exists (select from crm.service_tariffs st
                     join caps k on k.service_id = st.service_id and k.tariff_id = st.tariff_id
                    where st.service_id = c.service_id and st.valid @> ct.day and k.cap_gb is not null)
     group by c.service_id, c.cap_gb, c.price_per_gb
  ), services as (
    select s.id, s.valid, p.price_mode, p.vat_class
      from crm.services s
      join catalog.products p on p.id = s.product_id
     where s.operator_id = p_operator_id and s.valid && p_period
  )
  select c.service_id,
         case when c.price_mode = 'with_vat' then 'calls' else 'calls:' || c.price_mode end,
         format('Hovory %s: %s, zpoplatněno %s min', to_char(lower(p_period), 'MM/YYYY'), c.calls,
                replace(round(c.seconds / 60.0, 1)::text, '.', ',')),
         1::numeric, null::text, c.amount, c.price_mode, s.vat_class, s.valid * p_period
    from calls c
    join services s on s.id = c.service_id
  union all
  select x.service_id, 'data', format('Data nad limit %s: %s GB', to_char(lower(p_period), 'MM/YYYY'), x.gb),
         x.gb, 'GB', round(x.gb * x.price_per_gb, 2), s.price_mode, s.vat_class, s.valid * p_period
    from (select d.service_id, ceil((d.bytes - d.cap_bytes) / 1e9) as gb, d.price_per_gb
            from data d
           where d.bytes > d.cap_bytes and coalesce(d.price_per_gb, 0) > 0) x
    join services s on s.id = x.service_id
  union all
  select p.service_id, 'ppv:' || p.id,
         format('Pay-per-view: %s (%s)', p.title, to_char(p.purchased_at at time zone v_zone, 'DD. MM. YYYY HH24:MI')),
         1::numeric, 'ks', p.price, s.price_mode, s.vat_class,
         daterange((p.purchased_at at time zone v_zone)::date, (p.purchased_at at time zone v_zone)::date, '[]')
    from billing.ppv_purchases p
    join services s on s.id = p.service_id
   where p.operator_id = p_operator_id
     and p.purchased_at >= lower(p_period)::timestamp at time zone v_zone
     and p.purchased_at < upper(p_period)::timestamp at time zone v_zone;
end;
$$;
comment on function billing.usage_charges(bigint, daterange) is
'The usage of an operator''s services over a period as the billing run charges it: rated calls, data over the cap,
pay-per-view.';
revoke all on function billing.usage_charges(bigint, daterange) from public;
grant execute on function billing.usage_charges(bigint, daterange) to mango_billing, mango_agent_scheduler;
