-- Rating (BIL-3): every call of an operator's period priced in one statement, set-based: the
-- service that held the paying number when the call began (billing.phone_numbers; the accountcode
-- first, which the operator sets per SIP account, then the src the customer's equipment presents),
-- its tariff on that day and the tariff's rate table (parameter rate_table, else the operator's
-- default), the destination with the longest prefix of the called number, the time band of the
-- call's start in the operator's zone (a holiday's band all day), the dated rate of that band (or
-- of every band), the billing increments, the connection fee, and the tariff's included minutes
-- (parameter free_minutes, times the tariff's share of the period by the rule of its fee:
-- billing.included_shares, CAT-6) consumed in call order. Each call's price is rounded to the
-- haléř once, half away from zero: round(connection fee + price per minute × (charged seconds −
-- included seconds) / 60, 2); the summary line on the invoice is their sum
-- (billing.usage_charges, procedures/80_billing/05_usage_charges.sql), and the call list that
-- documents print is billing.call_list (billing.charge_calls for a charge, billing.document_calls
-- for a document).
--
-- Rating a period again (after a rate change, or when late files came in) replaces its ratings,
-- except those of services whose usage of the period is billed already (billing.billed_usage):
-- what a document bills stays as it was billed.

create or replace function billing.billed_usage(p_operator_id bigint, p_period daterange)
returns table (service_id bigint)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The services whose calls of the period a billing run has charged (a cancelled run's charges
  -- are gone, so its period can be rated again).
  select distinct ch.service_id
    from billing.charges ch
   where ch.operator_id = p_operator_id and ch.kind = 'usage' and ch.period = p_period
     and ch.key like 'calls%' and ch.service_id is not null;
$$;
comment on function billing.billed_usage(bigint, daterange) is
'The services whose rated calls of a period a billing run has charged: their ratings are kept.';
revoke all on function billing.billed_usage(bigint, daterange) from public;
grant execute on function billing.billed_usage(bigint, daterange) to mango_billing, mango_support;

create or replace function billing.rate_calls(p_operator_id bigint, p_period daterange)
returns billing.rating_runs
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp set work_mem = '256MB'
set enable_mergejoin = off
as $$
-- definer: ratings are written only here. Billing staff rate a period (and again after a rate
-- change); the billing run (the scheduler) rates what came in since (billing.usage_charges). One
-- rating of an operator at a time. work_mem: the call order of a million calls is sorted in memory;
-- no merge joins: the planner would sort a million calls to join them to a few dozen prices.
declare
  v_zone text;
  v_from timestamptz;
  v_to timestamptz;
  v_days integer;
  v_lengths integer[];
  v_len integer;
  v_prefixes jsonb;
  v_pick text := '';
  v_bands bigint[];
  v_holidays bigint[];
  v_runs bigint[];
  v_run billing.rating_runs;
  v_other daterange;
begin
  if not (auth.has_role('billing') or auth.has_role('agent_scheduler')) then
    raise exception 'rating calls needs a signed-in user with the billing role' using errcode = '42501';
  end if;
  if p_operator_id is null or not exists (select from crm.operators o where o.id = p_operator_id) then
    raise exception 'which operator? there is no operator %', coalesce(p_operator_id::text, '(none given)')
      using errcode = 'MG851', column = 'operator';
  end if;
  if p_period is null or isempty(p_period) or lower_inf(p_period) or upper_inf(p_period)
     or upper(p_period) - lower(p_period) > 366 then
    raise exception 'give the period as whole days of at most a year, such as [2026-11-01,2026-12-01)'
      using errcode = 'MG851', column = 'period';
  end if;
  perform pg_advisory_xact_lock(hashtext('billing.rate_calls'), p_operator_id::integer);
  select r.period into v_other from billing.rating_runs r
   where r.operator_id = p_operator_id and r.period && p_period and r.period <> p_period
   order by r.id desc limit 1;
  if found then
    raise exception 'some of these days were rated as the period %: rate that period again', v_other
      using errcode = 'MG852', column = 'period';
  end if;
  v_zone := crm.business_zone(p_operator_id);
  v_from := lower(p_period)::timestamp at time zone v_zone;
  v_to := upper(p_period)::timestamp at time zone v_zone;
  v_days := upper(p_period) - lower(p_period);
  v_runs := array(select r.id from billing.rating_runs r where r.operator_id = p_operator_id and r.period = p_period);

  insert into billing.rating_runs (operator_id, period, db_role, user_id)
  values (p_operator_id, p_period, session_user, auth.user_id())
  returning * into v_run;

  -- What is billed stays as it was billed; the rest is rated anew.
  delete from billing.rated_calls r
   where r.run_id = any(v_runs)
     and (r.service_id is null
          or r.service_id not in (select b.service_id from billing.billed_usage(p_operator_id, p_period) b));
  select count(*)::integer into v_run.kept from billing.rated_calls r where r.run_id = any(v_runs);

  -- The band of every minute of the week (ISO weekday and minute of the day, in the operator's
  -- zone), and the band of each holiday of the period: array lookups instead of joins.
  v_bands := array(select h.band_id
                     from generate_series(0, 7 * 1440 - 1) g (k)
                     left join billing.time_band_hours h on h.operator_id = p_operator_id and h.isodow = g.k / 1440 + 1
                                                        and h.minutes @> g.k % 1440
                    order by g.k);
  v_holidays := array(select h.band_id
                        from generate_series(0, v_days - 1) g (k)
                        left join billing.holidays h on h.operator_id = p_operator_id and h.day = lower(p_period) + g.k
                       order by g.k);

  -- The longest prefix: the destinations as one JSON object ('rate table:prefix': id), and
  -- per call one lookup per prefix length the operator uses, the longest first (measured on a
  -- million calls: a third of the time of one hash join per length; an index probe per call is
  -- slower still), done once per rate table and distinct head of the called numbers (their first
  -- digits, as many as the longest prefix has), which the calls then join by hash.
  select coalesce(jsonb_object_agg(d.rate_table_id || ':' || d.prefix, d.id), '{}') into v_prefixes
    from billing.destinations d where d.operator_id = p_operator_id;
  select coalesce(array_agg(x.len order by x.len desc), '{}') into v_lengths
    from (select distinct length(d.prefix) as len from billing.destinations d where d.operator_id = p_operator_id) x;
  foreach v_len in array v_lengths loop
    v_pick := v_pick || format('($11 ->> (k.rate_table_id || '':'' || left(k.head, %s)))::bigint, ', v_len);
  end loop;

  execute format($sql$
    with numbers as not materialized (
      select n.number, n.service_id, n.valid
        from billing.phone_numbers n
        join crm.services s on s.id = n.service_id
       where s.operator_id = $1 and n.valid && tstzrange($4, $5)
    ), params as materialized (
      select v.entity_id as tariff_id,
             max(v.value) filter (where d.code = 'rate_table') as rate_table,
             max(v.value) filter (where d.code = 'free_minutes') as free_minutes
        from crm.parameter_values v
        join crm.parameter_definitions d on d.id = v.definition_id
       where d.entity = 'tariff' and d.code in ('rate_table', 'free_minutes')
       group by v.entity_id
    ), segments as materialized (
      -- The tariff periods of the period's voice services, each with its rate table.
      select st.service_id, st.tariff_id, st.valid * $2 as days, coalesce(named.id, dflt.id) as rate_table_id
        from crm.service_tariffs st
        join (select distinct n.service_id from numbers n) ns on ns.service_id = st.service_id
        left join params p on p.tariff_id = st.tariff_id
        left join billing.rate_tables named on named.operator_id = $1 and named.code = p.rate_table
        left join billing.rate_tables dflt on dflt.operator_id = $1 and dflt.is_default
       where st.valid && $2
    ), allowances as materialized (
      -- Included seconds: each tariff's minutes times its share of the period, by the rule of its
      -- fee (billing.included_shares: pro rata by days, less a suspension; under the plan rule
      -- full_old_prorata_new the old tariff's minutes whole), rounded to whole seconds.
      select i.service_id, round(sum(coalesce(p.free_minutes::numeric, 0) * 60 * i.share))::integer as seconds
        from billing.included_shares($1, $2) i
        join params p on p.tariff_id = i.tariff_id
       where i.service_id in (select n.service_id from numbers n)
       group by i.service_id
    ), prices as materialized (
      -- The rate of each destination and band over the period's days: the band's own rate, else
      -- the rate for every band (band 0: a call in no band), with whether included minutes apply.
      select rb.destination_id, rb.band_id as band_key, rb.valid * $2 as days, rb.id, rb.price_per_minute,
             rb.connection_fee, rb.first_increment, rb.next_increment, d.uses_included_minutes
        from billing.rates rb
        join billing.destinations d on d.id = rb.destination_id
       where rb.operator_id = $1 and rb.band_id is not null and rb.valid && $2
      union all
      select ra.destination_id, b.band_key, u.days, ra.id, ra.price_per_minute, ra.connection_fee,
             ra.first_increment, ra.next_increment, d.uses_included_minutes
        from billing.rates ra
        join billing.destinations d on d.id = ra.destination_id
       cross join (select t.id as band_key from billing.time_bands t where t.operator_id = $1 union all select 0) b
       cross join lateral unnest(datemultirange(ra.valid * $2)
                                 - coalesce((select range_agg(rb.valid) from billing.rates rb
                                              where rb.destination_id = ra.destination_id and rb.band_id = b.band_key),
                                            '{}'::datemultirange)) as u (days)
       where ra.operator_id = $1 and ra.band_id is null and ra.valid && $2
    ), numbered as materialized (
      -- The period's calls not rated yet, with the service that held the paying number when the
      -- call began and its minute since 1970-01-01 00:00 in the operator's zone (computed once).
      select c.id, c.start_at, c.billsec, c.called_number,
             c.disposition = 'ANSWERED' and c.billsec > 0 and c.amaflags <> 'OMIT' as billable,
             coalesce(na.service_id, ns.service_id) as service_id,
             floor(date_part('epoch', c.start_at at time zone $3) / 60)::bigint as local_minute
        from billing.calls c
        left join numbers na on na.number = c.account_number and na.valid @> c.start_at
        left join numbers ns on ns.number = c.calling_number and ns.valid @> c.start_at
       where c.operator_id = $1 and c.start_at >= $4 and c.start_at < $5
         and c.id not in (select k.call_id from billing.rated_calls k where k.run_id = any($10))
    ), heads as materialized (
      -- The destination of each rate table and head of a called number (the longest prefix).
      select k.rate_table_id, k.head, coalesce(%1$s null::bigint) as destination_id
        from (select distinct t.rate_table_id, h.head
                from (select distinct sg.rate_table_id from segments sg where sg.rate_table_id is not null) t
               cross join (select distinct left(n.called_number, $12) as head from numbered n) h) k
    ), calls as materialized (
      -- Each call's tariff, rate table, destination and band, computed once (materialized: the
      -- planner would compute the destination again in each join that uses it). The band: of the
      -- holiday, else of the minute of the week (1970-01-01 was a Thursday: Monday 00:00 is minute
      -- 4320 of its week).
      select c.id, c.start_at, c.local_day, c.billsec, c.billable, c.service_id, sg.tariff_id, sg.rate_table_id,
             hd.destination_id,
             coalesce($9[c.local_day - lower($2) + 1], $8[(c.local_minute + 4320) %% 10080 + 1]) as band_id
        from (select n.*, date '1970-01-01' + (n.local_minute / 1440)::integer as local_day,
                     left(n.called_number, $12) as head
                from numbered n) c
        left join segments sg on sg.service_id = c.service_id and sg.days @> c.local_day
        left join heads hd on hd.rate_table_id = sg.rate_table_id and hd.head = c.head
    ), priced as (
      select c.id, c.start_at, c.service_id, c.tariff_id, c.billsec, c.destination_id, c.band_id, r.id as rate_id,
             r.price_per_minute, r.connection_fee, r.first_increment, r.next_increment,
             coalesce(r.uses_included_minutes, false) as uses_included_minutes,
             case when not c.billable then 'not_billable'
                  when c.tariff_id is null then 'no_service'
                  when c.rate_table_id is null then 'no_rate_table'
                  when c.destination_id is null then 'no_destination'
                  when r.id is null and c.band_id is null then 'no_band'
                  when r.id is null then 'no_rate'
                  else 'rated' end as status
        from calls c
        left join prices r on r.destination_id = c.destination_id and r.band_key = coalesce(c.band_id, 0)
                          and r.days @> c.local_day
    ), charged as (
      -- Billing increments: the first one whole, then whole next ones (60/60 whole minutes, 1/1
      -- seconds, 60/1 a first minute and then seconds).
      select p.id, p.start_at, p.service_id, p.tariff_id, p.status, p.destination_id, p.band_id, p.rate_id,
             p.price_per_minute, p.connection_fee,
             case when p.status <> 'rated' then 0
                  when p.billsec <= p.first_increment then p.first_increment
                  else p.first_increment
                       + ((p.billsec - p.first_increment + p.next_increment - 1) / p.next_increment) * p.next_increment
             end as charged_seconds,
             p.status = 'rated' and p.uses_included_minutes as included
        from priced p
    ), consumed as (
      -- Included seconds in call order: what the calls before used, the rest covers this one.
      select x.id, x.service_id, x.tariff_id, x.status, x.destination_id, x.band_id, x.rate_id, x.price_per_minute,
             x.connection_fee, x.charged_seconds,
             case when x.included
                  then greatest(0, least(x.charged_seconds,
                                         coalesce(a.seconds, 0) - (sum(x.charged_seconds) over w - x.charged_seconds)))
                  else 0 end as free_seconds
        from charged x
        left join allowances a on a.service_id = x.service_id
      window w as (partition by x.service_id, x.included order by x.start_at, x.id rows unbounded preceding)
    ), stored as (
      insert into billing.rated_calls (call_id, run_id, service_id, tariff_id, status, destination_id, band_id, rate_id,
                                       charged_seconds, free_seconds, price)
      select c.id, $7, c.service_id, c.tariff_id, c.status, c.destination_id, c.band_id, c.rate_id,
             c.charged_seconds, c.free_seconds,
             case when c.status = 'rated'
                  then round(c.connection_fee + c.price_per_minute * (c.charged_seconds - c.free_seconds) / 60.0, 2)
                  else 0 end
        from consumed c
      returning status, price
    )
    select count(*)::integer, (count(*) filter (where status = 'rated'))::integer,
           (count(*) filter (where status = 'not_billable'))::integer,
           (count(*) filter (where status not in ('rated', 'not_billable')))::integer, coalesce(sum(price), 0)
      from stored
    $sql$, v_pick)
  into v_run.calls, v_run.rated, v_run.not_billable, v_run.unrated, v_run.amount
  using p_operator_id, p_period, v_zone, v_from, v_to, v_days, v_run.id, v_bands, v_holidays, v_runs, v_prefixes,
        coalesce(v_lengths[1], 0);

  update billing.rating_runs r
     set calls = v_run.calls, rated = v_run.rated, not_billable = v_run.not_billable, unrated = v_run.unrated,
         kept = v_run.kept, amount = v_run.amount, finished_at = clock_timestamp()
   where r.id = v_run.id
  returning * into v_run;
  return v_run;
end;
$$;
comment on function billing.rate_calls(bigint, daterange) is
'Rate every call of an operator''s period (again, except what is billed): service, destination, time band, increments,
included minutes and price per call.';
revoke all on function billing.rate_calls(bigint, daterange) from public;
grant execute on function billing.rate_calls(bigint, daterange) to mango_billing, mango_agent_scheduler;

create or replace view billing.call_list
with (security_invoker = true)
as
select
    r.service_id,
    run.period,
    c.id as call_id,
    c.start_at,
    c.src,
    c.dst,
    c.called_number,
    d.name as destination,
    b.name as band,
    c.billsec,
    r.status,
    round(r.charged_seconds / 60.0, 2) as minutes,
    round(r.free_seconds / 60.0, 2) as free_minutes,
    r.price
from billing.rated_calls as r
inner join billing.rating_runs as run on r.run_id = run.id
inner join billing.calls as c on r.call_id = c.id
left join billing.destinations as d on r.destination_id = d.id
left join billing.time_bands as b on r.band_id = b.id;
comment on view billing.call_list is
'The rated calls of a service and period as documents print them: time, number, destination, band, minutes, price.';
revoke all on table billing.call_list from public;
grant select on table billing.call_list to mango_billing, mango_support;

create or replace function billing.charge_calls(p_charge_id bigint)
returns setof billing.call_list
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The calls a usage charge of calls ('calls', 'calls:without_vat') sums: its service's rated calls
  -- of its period in the rate tables of its price mode, in call order.
  select l.*
    from billing.charges ch
    join billing.call_list l on l.service_id = ch.service_id and l.period = ch.period and l.status = 'rated'
    join billing.rated_calls r on r.call_id = l.call_id and r.service_id = ch.service_id
    join billing.destinations d on d.id = r.destination_id
    join billing.rate_tables t on t.id = d.rate_table_id
   where ch.id = p_charge_id and ch.kind = 'usage' and ch.key like 'calls%'
     and t.price_mode = coalesce(nullif(substr(ch.key, 7), ''), 'with_vat')
   order by l.start_at, l.call_id;
$$;
comment on function billing.charge_calls(bigint) is
'The rated calls a usage charge of calls sums (its call list), in call order.';
revoke all on function billing.charge_calls(bigint) from public;
grant execute on function billing.charge_calls(bigint) to mango_billing, mango_support;

-- Its columns may change while nothing depends on it: dropped and made again.
drop function if exists billing.document_calls(bigint);
create or replace function billing.document_calls(p_document_id bigint)
returns table (
    line_position integer, charge_id bigint, call_id bigint, start_at timestamptz, src text, dst text,
    called_number text, destination text, band text, billsec integer, minutes numeric, free_minutes numeric,
    price numeric
)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The call list of a document: for each of its lines that bills calls, the calls it sums.
  select dl.position, dl.charge_id, c.call_id, c.start_at, c.src, c.dst, c.called_number, c.destination, c.band,
         c.billsec, c.minutes, c.free_minutes, c.price
    from billing.document_lines dl
   cross join lateral billing.charge_calls(dl.charge_id) c
   where dl.document_id = p_document_id and dl.charge_id is not null
   order by dl.position, c.start_at, c.call_id;
$$;
comment on function billing.document_calls(bigint) is
'The call list of a document: the calls each of its call lines sums, by line and call order.';
revoke all on function billing.document_calls(bigint) from public;
grant execute on function billing.document_calls(bigint) to mango_billing, mango_support;

alter table billing.rated_calls enable row level security;
alter table billing.rating_runs enable row level security;
drop policy if exists staff_select_all on billing.rated_calls;
create policy staff_select_all on billing.rated_calls for select to mango_staff using (true);
drop policy if exists staff_select_all on billing.rating_runs;
create policy staff_select_all on billing.rating_runs for select to mango_staff using (true);
revoke all on table billing.rated_calls, billing.rating_runs from public;
grant select on table billing.rated_calls, billing.rating_runs to mango_billing, mango_support;
