-- Documents as data (BIL-4): the VAT recap and the rounding of every document by one rule, the
-- billing run's draft documents, issuing with gap-free numbers, credit notes, the tax document of
-- a paid payment request, advance invoices. Amounts are computed here, once, and stored.
--
-- The VAT recap (§ 37): per rate, the lines priced with VAT are summed and their tax computed from
-- above (sum × rate / (100 + rate), to hellers; the base is the rest), the lines priced without VAT
-- are summed and taxed from below (sum × rate / 100); the rate's base and tax are the two added.
-- Reverse charge: the bases, no tax. Outside VAT (an operator that is not a VAT payer): the
-- amounts as they are, no recap.
--
-- Rounding (§ 37, non-cash payment; czech-formats.md §4.3): a document the customer is asked to
-- pay in Czech crowns (an invoice, a payment request, a credit note) is rounded to whole crowns,
-- and the rounding is part of the price: a line of its own, priced with VAT at the highest rate on
-- the document, its tax computed from above like any amount with VAT. The worked example, base
-- 1 234,50 at 21 % (tax 259,25, total 1 493,75), rounds by +0,25 with VAT: tax 0,04 (0,25 × 21 /
-- 121 = 0,0434) and base 0,21, so the 21 % recap reads 1 234,71 + 259,29 = 1 494,00. The split
-- 0,20 + 0,05 that the source quotes would tax 0,20 at 25 %, a rate there is not; taxing the
-- rounding from above is also what makes a credit note of a whole document its exact negative.
-- Under reverse charge the rounding is a base like the others (no tax). A document of a payment
-- received (advance invoice, the tax document of a paid request) shows the amount paid and is not
-- rounded (a paid request's rounding line is among the lines it copies).

create or replace function billing.require_billing()
returns void
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Billing work: a signed-in user with the billing role (an administrator holds it; the console),
-- or the scheduler agent running a job a billing user queued (bus.submit_job checked who).
begin
  if not (auth.may('billing') or auth.caller_role() = 'mango_agent_scheduler') then
    raise exception 'this needs a signed-in user with the billing role' using errcode = '42501';
  end if;
end;
$$;
comment on function billing.require_billing() is
'Refuse unless the caller is a signed-in billing user, the console or the scheduler running a job.';
revoke all on function billing.require_billing() from public;

create or replace function billing.refresh_statistics(p_table regclass, p_added bigint)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A billing run adds many rows to a table in one transaction (the first run of an install fills
-- it from nothing): when what it added is a good part of what the planner thinks the table holds,
-- the table is analyzed, so that the run's next statements are planned for what is there now
-- (with the statistics of an empty table the planner would loop over the lines of every document).
-- Internal: called by the billing functions as the owner; no grant.
begin
  if p_added >= 1000
     and p_added > 0.2 * greatest((select c.reltuples from pg_catalog.pg_class c where c.oid = p_table), 0) then
    execute format('analyze %s', p_table);
  end if;
end;
$$;
comment on function billing.refresh_statistics(regclass, bigint) is
'Analyze a table a billing run has grown by much, for the plans of its next statements (internal).';
revoke all on function billing.refresh_statistics(regclass, bigint) from public;

create or replace function billing.vat_of(
    p_vat_rate numeric, p_from_above boolean, p_reverse_charge boolean, p_with_vat numeric, p_without_vat numeric
)
returns table (base numeric, vat numeric)
language sql immutable security invoker
as $$
  -- The base and tax of a group of amounts at one rate (§ 37): priced with VAT, the sum taxed from
  -- above (sum × rate / (100 + rate), to hellers; the base is the rest); priced without VAT, from
  -- below (sum × rate / 100). Reverse charge: the base, no tax; a null rate (outside VAT): the
  -- amount as it is. The one rule of every document's recap (billing.vat_groups, the run's
  -- documents). [inlined]
  select case when p_vat_rate is null then p_with_vat
              when p_reverse_charge then p_without_vat
              when p_from_above then p_with_vat - round(p_with_vat * p_vat_rate / (100 + p_vat_rate), 2)
              else p_without_vat end,
         case when p_vat_rate is null or p_reverse_charge then 0
              when p_from_above then round(p_with_vat * p_vat_rate / (100 + p_vat_rate), 2)
              else round(p_without_vat * p_vat_rate / 100, 2) end;
$$;
comment on function billing.vat_of(numeric, boolean, boolean, numeric, numeric) is
'The base and tax of amounts at one rate, from above or below (§ 37; reverse charge, outside VAT). [inlined]';
revoke all on function billing.vat_of(numeric, boolean, boolean, numeric, numeric) from public;

create or replace function billing.rounding_of(p_total numeric, p_top_rate numeric, p_reverse_charge boolean)
returns table (price_mode text, amount_without_vat numeric, amount_with_vat numeric)
language sql immutable security invoker
as $$
  -- The rounding line of a document total to whole crowns (§ 37, non-cash: part of the price), at
  -- the document's highest rate, its tax from above; under reverse charge a base with no tax. No
  -- row when the total is whole. [inlined]
  select case when p_reverse_charge then 'without_vat' else 'with_vat' end, d.amount_without_vat, d.amount_with_vat
    from billing.derived_amounts(round(p_total) - p_total, case when p_reverse_charge then 'without_vat' else 'with_vat' end,
                                 p_top_rate, p_reverse_charge) d
   where round(p_total) <> p_total;
$$;
comment on function billing.rounding_of(numeric, numeric, boolean) is
'The rounding line of a total to whole crowns, taxed at the top rate from above (§ 37). [inlined]';
revoke all on function billing.rounding_of(numeric, numeric, boolean) from public;

create or replace function billing.vat_groups(p_run_id bigint, p_document_id bigint)
returns table (document_id bigint, vat_rate numeric, rounding boolean, base numeric, vat numeric)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The tax of the lines of draft documents (a run's, or one), by rate and by how it is computed:
  -- the lines priced with VAT together, taxed from above; those priced without VAT, from below;
  -- the rounding line on its own, from above. A null rate: outside VAT (base = the amount).
  select g.document_id, g.vat_rate, g.rounding, v.base, v.vat
    from (select l.document_id, l.vat_rate, l.line_kind = 'rounding' as rounding, d.reverse_charge,
                 l.price_mode = 'with_vat' as from_above, sum(l.amount_with_vat) as with_vat,
                 sum(l.amount_without_vat) as without_vat
            from billing.documents d
            join billing.document_lines l on l.document_id = d.id
           where d.state = 'draft'
             and d.id in (select x.id from billing.documents x where x.run_id = p_run_id and x.state = 'draft'
                          union all
                          select p_document_id)
           group by l.document_id, l.vat_rate, l.line_kind = 'rounding', d.reverse_charge,
                    l.price_mode = 'with_vat') g
   cross join lateral billing.vat_of(g.vat_rate, g.from_above, g.reverse_charge, g.with_vat, g.without_vat) v;
$$;
comment on function billing.vat_groups(bigint, bigint) is
'The base and tax of draft documents'' lines by rate, computed from above or below (§ 37).';
revoke all on function billing.vat_groups(bigint, bigint) from public;

create or replace function billing.finish_drafts(p_run_id bigint, p_document_id bigint)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: documents are written only by the billing functions (this one has no grant: they call
-- it). For the draft documents of a run (or one draft): the rounding line, the VAT recap and the
-- totals, from their lines, in one statement. Returns how many documents.
declare
  v_count integer;
begin
  with groups as materialized (
    select * from billing.vat_groups(p_run_id, p_document_id) g
  ),
  totals as (
    select g.document_id, sum(g.base + g.vat) as total, max(g.vat_rate) as top_rate
      from groups g where not g.rounding group by g.document_id
  ),
  roundings as (
    select t.document_id, t.top_rate, d.reverse_charge, d.tax_point, t.total,
           (select max(l.position) from billing.document_lines l where l.document_id = t.document_id) + 1 as position
      from totals t
      join billing.documents d on d.id = t.document_id
     where d.currency = 'CZK'
       and (d.kind in ('payment_request', 'credit_note') or (d.kind = 'invoice' and d.request_id is null))
       and not exists (select from groups g where g.document_id = t.document_id and g.rounding)
  ),
  rounding_lines as (
    insert into billing.document_lines (document_id, position, line_kind, description, quantity, price_mode, vat_rate,
                                        tax_point, amount_without_vat, amount_with_vat)
    select r.document_id, r.position, 'rounding', 'Zaokrouhlení', 1, x.price_mode, r.top_rate, r.tax_point,
           x.amount_without_vat, x.amount_with_vat
      from roundings r
     cross join lateral billing.rounding_of(r.total, r.top_rate, r.reverse_charge) x
    returning document_id, vat_rate, amount_without_vat, amount_with_vat
  ),
  recap as (
    select g.document_id, g.vat_rate, g.base, g.vat, case when g.rounding then g.base + g.vat else 0 end as rounding
      from groups g
    union all
    select r.document_id, r.vat_rate, r.amount_without_vat, r.amount_with_vat - r.amount_without_vat, r.amount_with_vat
      from rounding_lines r
  ),
  vat_rows as (
    insert into billing.document_vat (document_id, vat_rate, base, vat)
    select r.document_id, r.vat_rate, sum(r.base), sum(r.vat)
      from recap r where r.vat_rate is not null
     group by r.document_id, r.vat_rate
  ),
  updated as (
    update billing.documents d
       set total_without_vat = x.base, total_vat = x.vat, total_with_vat = x.base + x.vat, rounding = x.rounding,
           amount_due = case when d.kind = 'advance_invoice' or d.request_id is not null then 0 else x.base + x.vat end
      from (select r.document_id, sum(r.base) as base, sum(r.vat) as vat, sum(r.rounding) as rounding
              from recap r group by r.document_id) x
     where d.id = x.document_id
    returning d.id
  )
  select count(*) into v_count from updated;
  return v_count;
end;
$$;
comment on function billing.finish_drafts(bigint, bigint) is
'The rounding line, VAT recap and totals of a run''s draft documents (or one draft), from their lines.';
revoke all on function billing.finish_drafts(bigint, bigint) from public;

create or replace function billing.make_documents(p_run_id bigint)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer, no grant: the billing run calls it, once. Draft documents for the run's charges: one
-- per paying customer (a parent account pays for its branches), kind of
-- document (invoice or payment request, as the charge's plan said), reverse charge or not and due
-- days, and one of its own for each service billed separately; supplier and customer as they are
-- (issuing takes them again); the lines in order of service, kind and days, the rounding line,
-- the VAT recap and the totals, all in one statement from the charges (by the rules of
-- billing.vat_of and billing.rounding_of, as billing.finish_drafts finishes a single document:
-- the run's documents are not read back and updated). Returns how many documents.
declare
  v_count integer;
begin
  -- Once per run: a run's charges are documented by the run's own documents only.
  if exists (select from billing.documents d where d.run_id = p_run_id) then
    raise exception 'billing run % has its documents already', p_run_id using errcode = 'MG043', column = 'run';
  end if;
  with charges as materialized (
    select c.*, coalesce(case when c.bill_separately then c.service_id end, 0) as own_service
      from billing.charges c
     where c.run_id = p_run_id and c.document_kind <> 'none'
  ),
  groups as (
    -- the recap of each document to be, from its charges (billing.vat_of, the rule of every recap)
    select g.payer_id, g.document_kind, g.reverse_charge, g.due_days, g.own_service, g.vat_rate, v.base, v.vat
      from (select c.payer_id, c.document_kind, c.reverse_charge, c.due_days, c.own_service, c.vat_rate,
                   c.price_mode = 'with_vat' as from_above, sum(c.amount_with_vat) as with_vat,
                   sum(c.amount_without_vat) as without_vat
              from charges c
             group by c.payer_id, c.document_kind, c.reverse_charge, c.due_days, c.own_service, c.vat_rate,
                      c.price_mode = 'with_vat') g
     cross join lateral billing.vat_of(g.vat_rate, g.from_above, g.reverse_charge, g.with_vat, g.without_vat) v
  ),
  keys as (
    -- one document per paying customer, kind, reverse charge, due days and own service: its dates,
    -- totals and rounding line (billing.rounding_of; a run's documents are invoices and payment
    -- requests, rounded in Czech crowns)
    select k.*, r.price_mode as rounding_mode, r.amount_without_vat as rounding_without_vat,
           r.amount_with_vat as rounding_with_vat
      from (select c.operator_id, c.payer_id, c.document_kind, c.reverse_charge, c.due_days, c.own_service,
                   case when count(c.tax_point) = count(*) then max(c.tax_point) end as tax_point,
                   min(lower(c.period)) as period_from, max(upper(c.period)) as period_to, count(*) as lines
              from charges c
             group by c.operator_id, c.payer_id, c.document_kind, c.reverse_charge, c.due_days, c.own_service) k
      join (select g.payer_id, g.document_kind, g.reverse_charge, g.due_days, g.own_service,
                   sum(g.base) as base, sum(g.vat) as vat, max(g.vat_rate) as top_rate
              from groups g
             group by g.payer_id, g.document_kind, g.reverse_charge, g.due_days, g.own_service) t
        on t.payer_id = k.payer_id and t.document_kind = k.document_kind and t.reverse_charge = k.reverse_charge
       and t.due_days = k.due_days and t.own_service = k.own_service
      join crm.operators o on o.id = k.operator_id
      left join lateral billing.rounding_of(t.base + t.vat, t.top_rate, k.reverse_charge) r on o.currency = 'CZK'
  ),
  totals as (
    select g.payer_id, g.document_kind, g.reverse_charge, g.due_days, g.own_service, sum(g.base) as base,
           sum(g.vat) as vat, max(g.vat_rate) as top_rate
      from groups g
     group by g.payer_id, g.document_kind, g.reverse_charge, g.due_days, g.own_service
  ),
  documents as (
    insert into billing.documents (
      operator_id, customer_id, run_id, kind, tax_document, reverse_charge, service_id, tax_point, due_days, period, vs,
      currency, supplier_name, supplier_street, supplier_city, supplier_zip, supplier_country, supplier_ico,
      supplier_dic, supplier_vat_payer, supplier_registration, customer_name, customer_street, customer_city,
      customer_zip, customer_country, customer_ico, customer_dic, customer_no, total_without_vat, total_vat,
      total_with_vat, rounding, amount_due, created_by
    )
    select k.operator_id, k.payer_id, p_run_id, k.document_kind, k.document_kind = 'invoice' and o.vat_payer,
           k.reverse_charge, nullif(k.own_service, 0), k.tax_point, k.due_days, daterange(k.period_from, k.period_to),
           c.vs, o.currency, o.name, o.street, o.city, o.zip, o.country, o.ico, o.dic, o.vat_payer, o.registration,
           crm.customer_name(c), nullif(concat_ws(' ', c.street, c.house_no), ''), c.city, c.zip, c.country, c.ico,
           c.dic, c.customer_no, t.base + coalesce(k.rounding_without_vat, 0),
           t.vat + coalesce(k.rounding_with_vat - k.rounding_without_vat, 0),
           t.base + t.vat + coalesce(k.rounding_with_vat, 0), coalesce(k.rounding_with_vat, 0),
           t.base + t.vat + coalesce(k.rounding_with_vat, 0), r.created_by
      from keys k
      join totals t on t.payer_id = k.payer_id and t.document_kind = k.document_kind
                   and t.reverse_charge = k.reverse_charge and t.due_days = k.due_days and t.own_service = k.own_service
      join crm.operators o on o.id = k.operator_id
      join crm.customers c on c.id = k.payer_id
      join billing.runs r on r.id = p_run_id
     order by c.customer_no, k.document_kind, k.own_service, k.reverse_charge, k.due_days
    returning id, customer_id, kind, reverse_charge, due_days, coalesce(service_id, 0) as own_service, tax_point
  ),
  lines as (
    insert into billing.document_lines (
      document_id, position, line_kind, charge_id, description, covered, quantity, unit, unit_price,
      discount_percent, price_mode, vat_rate, tax_point, amount_without_vat, amount_with_vat
    )
    select d.id,
           row_number() over (partition by d.id
                              order by c.service_id nulls last,
                                       array_position(array['recurring', 'one_time', 'usage', 'reconnection', 'manual',
                                                            'discount'], c.kind),
                                       lower(c.covered), c.id),
           'charge', c.id, c.description, c.covered, c.quantity, c.unit, c.unit_price, c.discount_percent,
           c.price_mode, c.vat_rate, c.tax_point, c.amount_without_vat, c.amount_with_vat
      from charges c
      join documents d on d.customer_id = c.payer_id and d.kind = c.document_kind and d.reverse_charge = c.reverse_charge
                      and d.due_days = c.due_days and d.own_service = c.own_service
    union all
    select d.id, k.lines + 1, 'rounding', null, 'Zaokrouhlení', null, 1, null, 0, 0, k.rounding_mode, t.top_rate,
           d.tax_point, k.rounding_without_vat, k.rounding_with_vat
      from keys k
      join totals t on t.payer_id = k.payer_id and t.document_kind = k.document_kind
                   and t.reverse_charge = k.reverse_charge and t.due_days = k.due_days and t.own_service = k.own_service
      join documents d on d.customer_id = k.payer_id and d.kind = k.document_kind and d.reverse_charge = k.reverse_charge
                      and d.due_days = k.due_days and d.own_service = k.own_service
     where k.rounding_with_vat is not null
    returning document_id
  ),
  recap as (
    insert into billing.document_vat (document_id, vat_rate, base, vat)
    select d.id, x.vat_rate, sum(x.base), sum(x.vat)
      from (select g.payer_id, g.document_kind, g.reverse_charge, g.due_days, g.own_service, g.vat_rate, g.base, g.vat
              from groups g
            union all
            select k.payer_id, k.document_kind, k.reverse_charge, k.due_days, k.own_service, t.top_rate,
                   k.rounding_without_vat, k.rounding_with_vat - k.rounding_without_vat
              from keys k
              join totals t on t.payer_id = k.payer_id and t.document_kind = k.document_kind
                           and t.reverse_charge = k.reverse_charge and t.due_days = k.due_days
                           and t.own_service = k.own_service
             where k.rounding_with_vat is not null) x
      join documents d on d.customer_id = x.payer_id and d.kind = x.document_kind and d.reverse_charge = x.reverse_charge
                      and d.due_days = x.due_days and d.own_service = x.own_service
     where x.vat_rate is not null
     group by d.id, x.vat_rate
    returning document_id
  )
  -- (the lines and the recap are written whether or not this reads them)
  select count(*) into v_count from documents;
  return v_count;
end;
$$;
-- Hash joins throughout: the estimates of the CTEs above (grouped charges) are far too low for
-- nested loops, which would join every document to every other one's groups.
alter function billing.make_documents(bigint) set enable_nestloop = off;
alter function billing.make_documents(bigint) set work_mem = '64MB';
comment on function billing.make_documents(bigint) is
'Draft documents with lines, VAT recap and rounding for a run''s charges that no document bills yet.';
revoke all on function billing.make_documents(bigint) from public;

create or replace function billing.issue_documents(p_document_ids bigint[])
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer, no grant: the billing functions call it. Issue draft documents: per operator and kind
-- the next numbers of the operator's series of that kind and year (gap-free: the counter row is
-- taken once for all of them and stays locked until the transaction ends), in document order;
-- the issue date (the operator's today), the due date, the tax point where it is the issue day,
-- supplier and customer as they are today, who issued them. Returns how many documents.
declare
  v_group record;
  v_series crm.number_series;
  v_today date;
  v_last bigint;
  v_line record;
  v_total integer := 0;
begin
  for v_group in
    select d.operator_id, d.kind, o.code, count(*)::integer as n, array_agg(d.id order by d.id) as ids
      from billing.documents d
      join unnest(p_document_ids) x (id) on x.id = d.id
      join crm.operators o on o.id = d.operator_id
     where d.state = 'draft'
     group by d.operator_id, d.kind, o.code
     order by d.operator_id, d.kind
  loop
    perform from billing.documents d where d.id = any(v_group.ids) order by d.id for update;
    v_today := crm.business_date(v_group.operator_id);
    select * into v_series from crm.number_series s where s.operator_id = v_group.operator_id and s.kind = v_group.kind;
    if not found then
      raise exception 'operator % has no number series "%": an administrator adds it to the operator first',
        v_group.code, v_group.kind using errcode = 'MG044', column = 'kind';
    end if;
    -- A tax point on the issue day: the rate of the line's class on that day must be the one the
    -- run priced it with.
    select l.description, l.vat_rate, r.rate into v_line
      from billing.document_lines l
      join billing.charges c on c.id = l.charge_id
      join billing.documents d on d.id = l.document_id
      left join catalog.vat_rates r on r.vat_class = c.vat_class and r.valid @> v_today
     where l.document_id = any(v_group.ids) and l.tax_point is null and d.kind <> 'payment_request'
       and l.vat_rate is distinct from case when d.supplier_vat_payer then r.rate end
     limit 1;
    if found then
      raise exception 'the VAT rate of "%" is % %% on %, not the % %% it was billed with: cancel the run and run it again',
        v_line.description, v_line.rate, v_today, v_line.vat_rate using errcode = 'MG045';
    end if;
    update billing.document_lines l set tax_point = v_today
      from billing.documents d
     where d.id = l.document_id and l.document_id = any(v_group.ids) and l.tax_point is null
       and d.kind <> 'payment_request';
    insert into crm.number_series_counters as c (series_id, year, last_value)
    values (v_series.id, crm.series_year(v_series.yearly, v_today), v_series.start_value + v_group.n - 1)
    on conflict (series_id, year) do update set last_value = c.last_value + v_group.n
    returning last_value into v_last;
    update billing.documents d
       set state = 'issued',
           number = crm.format_number(v_series.format, v_last - v_group.n + x.nth, v_today),
           issue_date = v_today,
           due_date = v_today + d.due_days,
           tax_point = case when d.kind = 'payment_request' then null
                            else (select max(l.tax_point) from billing.document_lines l where l.document_id = d.id) end,
           supplier_name = o.name, supplier_street = o.street, supplier_city = o.city, supplier_zip = o.zip,
           supplier_country = o.country, supplier_ico = o.ico, supplier_dic = o.dic, supplier_vat_payer = o.vat_payer,
           supplier_registration = o.registration, customer_name = crm.customer_name(c),
           customer_street = nullif(concat_ws(' ', c.street, c.house_no), ''), customer_city = c.city,
           customer_zip = c.zip, customer_country = c.country, customer_ico = c.ico, customer_dic = c.dic,
           customer_no = c.customer_no, issued_by = auth.user_id(), issued_at = now()
      from unnest(v_group.ids) with ordinality x (id, nth), crm.operators o, crm.customers c
     where d.id = x.id and o.id = d.operator_id and c.id = d.customer_id;
    v_total := v_total + v_group.n;
  end loop;
  return v_total;
end;
$$;
comment on function billing.issue_documents(bigint[]) is
'Issue draft documents: gap-free numbers of the operator''s series in document order, dates, parties.';
revoke all on function billing.issue_documents(bigint[]) from public;

create or replace function billing.issue_document(p_document_id bigint)
returns text
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: documents are written only by the billing functions. Issue one draft (a run's drafts
-- are issued together: billing.issue_run); returns its number.
declare
  v_document billing.documents;
begin
  perform billing.require_billing();
  select * into v_document from billing.documents where id = p_document_id for update;
  if not found then
    raise exception 'document % does not exist', p_document_id using errcode = 'MG047', column = 'document_id';
  end if;
  if v_document.state <> 'draft' then
    raise exception 'document % is issued already', v_document.number using errcode = 'MG047', column = 'document_id';
  end if;
  perform billing.issue_documents(array[p_document_id]);
  update billing.runs r set state = 'issued', issued_by = auth.user_id(), issued_at = now()
   where r.id = v_document.run_id and r.state = 'done'
     and not exists (select from billing.documents d where d.run_id = r.id and d.state = 'draft');
  return (select number from billing.documents where id = p_document_id);
end;
$$;
comment on function billing.issue_document(bigint) is
'Issue one draft document (its number from the series); returns the number.';
revoke all on function billing.issue_document(bigint) from public;
grant execute on function billing.issue_document(bigint) to mango_billing;

drop function if exists billing.new_document(text, bigint, bigint);
create or replace function billing.new_document(
    p_kind text, p_customer_id bigint, p_operator_id bigint, p_original_id bigint default null,
    p_reason text default null
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer, no grant: an empty draft of a kind for a customer of an operator, with supplier and
-- customer as they are (for the single documents: credit notes, tax documents of paid requests,
-- advance invoices; the callers fill in the rest); a credit note with the document it corrects
-- and why.
declare
  v_id bigint;
begin
  insert into billing.documents (
    operator_id, customer_id, kind, tax_document, vs, currency, due_days, supplier_name, supplier_street, supplier_city,
    supplier_zip, supplier_country, supplier_ico, supplier_dic, supplier_vat_payer, supplier_registration,
    customer_name, customer_street, customer_city, customer_zip, customer_country, customer_ico, customer_dic,
    customer_no, original_id, reason, created_by
  )
  select o.id, c.id, p_kind, p_kind <> 'payment_request' and o.vat_payer, c.vs, o.currency, 0, o.name, o.street,
         o.city, o.zip, o.country, o.ico, o.dic, o.vat_payer, o.registration, crm.customer_name(c),
         nullif(concat_ws(' ', c.street, c.house_no), ''), c.city, c.zip, c.country, c.ico, c.dic, c.customer_no,
         p_original_id, p_reason, auth.user_id()
    from crm.operators o, crm.customers c
   where o.id = p_operator_id and c.id = p_customer_id
  returning id into v_id;
  return v_id;
end;
$$;
comment on function billing.new_document(text, bigint, bigint, bigint, text) is
'An empty draft document of a kind for a customer (a credit note: of which document and why).';
revoke all on function billing.new_document(text, bigint, bigint, bigint, text) from public;

create or replace function billing.credit_note(p_document_id bigint, p_reason text, p_lines jsonb default null)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: documents and charges are written only by the billing functions; the caller's session
-- is checked. A credit note (opravný daňový doklad, § 45) of an issued invoice or advance invoice,
-- issued at once: the whole rest of every line (p_lines null), or the lines given as
-- [{"line": id, "amount": x}] (x in the line's price mode, at most what is left of it; no amount:
-- all that is left). Each line keeps the original's VAT rate (a 2023 invoice credited in 2024
-- keeps 21/15/10 %); its tax point is today. A credited charge gets a correction: a new charge of
-- the opposite amount (corrects_id). Returns the credit note's id.
declare
  v_original billing.documents;
  v_id bigint;
  v_today date;
  v_bad record;
  v_selection jsonb;
  v_twice integer;
begin
  perform billing.require_billing();
  select * into v_original from billing.documents where id = p_document_id for update;
  if not found then
    raise exception 'document % does not exist', p_document_id using errcode = 'MG047', column = 'document_id';
  end if;
  if v_original.state <> 'issued' or v_original.kind not in ('invoice', 'advance_invoice') then
    raise exception 'only an issued invoice or advance invoice can be credited, not %',
      coalesce(v_original.number, 'a draft') using errcode = 'MG047', column = 'document_id';
  end if;
  if coalesce(btrim(p_reason), '') = '' then
    raise exception 'a credit note says why it corrects the document' using errcode = 'MG047', column = 'reason';
  end if;
  if length(p_reason) > 500 then
    raise exception 'the reason has at most 500 characters' using errcode = 'MG047', column = 'reason';
  end if;
  if p_lines is not null and (jsonb_typeof(p_lines) <> 'array' or jsonb_array_length(p_lines) = 0) then
    raise exception 'the lines to credit are a list of {"line": id, "amount": amount}' using errcode = 'MG047',
      column = 'lines';
  end if;
  v_today := crm.business_date(v_original.operator_id);

  -- What to credit: each line with the amount given (null: all that is left of it) and what is
  -- left of it after the credit notes before.
  begin
    select jsonb_agg(jsonb_build_object('line', r.id, 'amount', r.amount, 'rest_without', r.rest_without,
                                        'rest_with', r.rest_with, 'price_mode', r.price_mode, 'given', r.given)),
           count(*) filter (where r.given > 1)
      into v_selection, v_twice
      from (select l.id, l.price_mode, x.amount, coalesce(x.given, 0) as given,
                   l.amount_without_vat + coalesce((select sum(k.amount_without_vat) from billing.document_lines k
                                                     where k.credited_line_id = l.id), 0) as rest_without,
                   l.amount_with_vat + coalesce((select sum(k.amount_with_vat) from billing.document_lines k
                                                  where k.credited_line_id = l.id), 0) as rest_with
              from billing.document_lines l
              left join (select (e ->> 'line')::bigint as line_id, min((e ->> 'amount')::numeric) as amount,
                                count(*) as given
                           from jsonb_array_elements(coalesce(p_lines, '[]'::jsonb)) e
                          group by 1) x on x.line_id = l.id
             where l.document_id = p_document_id and l.line_kind <> 'rounding'
               and (p_lines is null or x.line_id is not null)) r;
  exception when invalid_text_representation or numeric_value_out_of_range then
    raise exception 'the lines to credit are a list of {"line": id, "amount": amount}' using errcode = 'MG047',
      column = 'lines';
  end;
  if v_twice > 0 or (p_lines is not null
                     and jsonb_array_length(coalesce(v_selection, '[]')) <> jsonb_array_length(p_lines)) then
    select e ->> 'line' as line_id into v_bad
      from jsonb_array_elements(p_lines) e
     where not exists (select from jsonb_array_elements(v_selection) b where b ->> 'line' = e ->> 'line')
     limit 1;
    raise exception 'line % is given twice or is not a line of document % that can be credited',
      coalesce(v_bad.line_id, '?'), v_original.number using errcode = 'MG047', column = 'lines';
  end if;
  select b.line, b.amount, case b.price_mode when 'with_vat' then b.rest_with else b.rest_without end as rest
    into v_bad
    from jsonb_to_recordset(v_selection) b (line bigint, amount numeric, rest_without numeric, rest_with numeric,
                                            price_mode text)
   where b.amount is not null
     and (b.amount <= 0 or b.amount <> round(b.amount, 2)
          or b.amount > case b.price_mode when 'with_vat' then b.rest_with else b.rest_without end)
   limit 1;
  if found then
    raise exception 'line % can be credited by more than 0 and at most % (in hellers), not %', v_bad.line, v_bad.rest,
      v_bad.amount using errcode = 'MG047', column = 'lines';
  end if;
  select jsonb_agg(e) into v_selection
    from jsonb_array_elements(v_selection) e
   where e -> 'amount' <> 'null'::jsonb or (e ->> 'rest_with')::numeric <> 0 or (e ->> 'rest_without')::numeric <> 0;
  if v_selection is null then
    raise exception 'document % has been credited in full already', v_original.number
      using errcode = 'MG047', column = 'document_id';
  end if;

  v_id := billing.new_document('credit_note', v_original.customer_id, v_original.operator_id, v_original.id,
                               btrim(p_reason));
  update billing.documents
     set reverse_charge = v_original.reverse_charge,
         tax_document = v_original.tax_document, period = v_original.period, tax_point = v_today
   where id = v_id;
  with credited as (
    select b.line as line_id, l.charge_id, l.line_kind, l.position, l.description, l.covered, l.unit, l.unit_price,
           l.discount_percent, l.price_mode, l.vat_rate, b.amount is null as whole,
           case when b.amount is null then -l.quantity else -1 end as quantity,
           case when b.amount is null then -b.rest_without else a.amount_without_vat end as amount_without_vat,
           case when b.amount is null then -b.rest_with else a.amount_with_vat end as amount_with_vat
      from jsonb_to_recordset(v_selection) b (line bigint, amount numeric, rest_without numeric, rest_with numeric)
      join billing.document_lines l on l.id = b.line
     cross join lateral billing.derived_amounts(-b.amount, l.price_mode, l.vat_rate, v_original.reverse_charge) a
  ),
  corrections as (
    insert into billing.charges (
      operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered, tariff_id, description, quantity,
      unit, unit_price, discount_percent, price_mode, amount_without_vat, amount_with_vat, vat_class, vat_rate,
      reverse_charge, tax_point, document_kind, due_days, bill_separately, corrects_id, note, created_by
    )
    select c.operator_id, c.customer_id, c.payer_id, c.service_id, c.plan_id, c.kind, c.period, c.covered, c.tariff_id,
           c.description, k.quantity, case when k.whole then c.unit end, case when k.whole then c.unit_price else 0 end,
           case when k.whole then c.discount_percent else 0 end, c.price_mode, k.amount_without_vat,
           k.amount_with_vat, c.vat_class, k.vat_rate, c.reverse_charge, v_today, 'invoice', 0, c.bill_separately, c.id,
           btrim(p_reason), auth.user_id()
      from credited k
      join billing.charges c on c.id = k.charge_id
    returning id, corrects_id
  )
  insert into billing.document_lines (
    document_id, position, line_kind, charge_id, credited_line_id, description, covered, quantity, unit, unit_price,
    discount_percent, price_mode, vat_rate, tax_point, amount_without_vat, amount_with_vat
  )
  select v_id, row_number() over (order by k.position), k.line_kind, n.id, k.line_id, k.description, k.covered,
         k.quantity, case when k.whole then k.unit end, case when k.whole then k.unit_price else 0 end,
         case when k.whole then k.discount_percent else 0 end, k.price_mode, k.vat_rate, v_today,
         k.amount_without_vat, k.amount_with_vat
    from credited k
    left join corrections n on n.corrects_id = k.charge_id;
  perform billing.finish_drafts(null, v_id);
  perform billing.issue_documents(array[v_id]);
  return v_id;
end;
$$;
comment on function billing.credit_note(bigint, text, jsonb) is
'Issue a credit note of an invoice (whole, or some lines), keeping the original VAT rates; its id.';
revoke all on function billing.credit_note(bigint, text, jsonb) from public;
grant execute on function billing.credit_note(bigint, text, jsonb) to mango_billing;

create or replace function billing.settle_request(p_request_id bigint, p_paid_on date)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: documents are written only by the billing functions. A payment request has been paid
-- (the payments issue calls this when it pairs the payment): the tax document of the payment is
-- issued, taxed on the day of the payment (§ 21: the day the payment is received). Its lines are
-- the request's; a line whose VAT rate on that day differs from the request's shows the amount
-- requested with VAT, its tax computed from above at the new rate. Returns its id.
declare
  v_request billing.documents;
  v_id bigint;
begin
  perform billing.require_billing();
  select * into v_request from billing.documents where id = p_request_id for update;
  if not found or v_request.kind <> 'payment_request' or v_request.state <> 'issued' then
    raise exception 'document % is not an issued payment request', p_request_id
      using errcode = 'MG048', column = 'document_id';
  end if;
  if p_paid_on is null or p_paid_on < v_request.issue_date - 366 then
    raise exception 'give the day the payment of request % arrived', v_request.number
      using errcode = 'MG048', column = 'paid_on';
  end if;
  select d.id into v_id from billing.documents d where d.request_id = p_request_id;
  if found then
    raise exception 'payment request % is settled already', v_request.number using errcode = 'MG048',
      column = 'document_id';
  end if;
  v_id := billing.new_document('invoice', v_request.customer_id, v_request.operator_id);
  update billing.documents
     set request_id = v_request.id, paid_on = p_paid_on, tax_point = p_paid_on, period = v_request.period,
         reverse_charge = v_request.reverse_charge, service_id = v_request.service_id
   where id = v_id;
  insert into billing.document_lines (
    document_id, position, line_kind, charge_id, description, covered, quantity, unit, unit_price, discount_percent,
    price_mode, vat_rate, tax_point, amount_without_vat, amount_with_vat
  )
  select v_id, l.position, l.line_kind, l.charge_id, l.description, l.covered, l.quantity, l.unit, l.unit_price,
         l.discount_percent, case when l.vat_rate is distinct from x.rate then 'with_vat' else l.price_mode end, x.rate,
         p_paid_on,
         case when l.vat_rate is distinct from x.rate then a.amount_without_vat else l.amount_without_vat end,
         l.amount_with_vat
    from billing.document_lines l
    left join billing.charges c on c.id = l.charge_id
   cross join lateral (
     select case when l.vat_rate is null then null
                 else coalesce((select r.rate from catalog.vat_rates r
                                 where r.vat_class = coalesce(c.vat_class, 'standard') and r.valid @> p_paid_on),
                               l.vat_rate) end as rate
   ) x
   cross join lateral billing.derived_amounts(l.amount_with_vat, 'with_vat', x.rate, v_request.reverse_charge) a
   where l.document_id = p_request_id;
  perform billing.finish_drafts(null, v_id);
  perform billing.issue_documents(array[v_id]);
  return v_id;
end;
$$;
comment on function billing.settle_request(bigint, date) is
'Issue the tax document of a paid payment request, taxed on the day of the payment; its id.';
revoke all on function billing.settle_request(bigint, date) from public;
grant execute on function billing.settle_request(bigint, date) to mango_billing, mango_agent_scheduler;

create or replace function billing.advance_invoice(
    p_customer_id bigint, p_amount numeric, p_paid_on date, p_vat_class text default 'standard',
    p_description text default 'Přijatá záloha'
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: documents are written only by the billing functions. An advance payment has arrived
-- (the payments issue calls this for a customer whose plan issues advance invoices): the tax
-- document of the payment received (daňový doklad k přijaté platbě), the amount with VAT, its tax
-- from above at the rate of the class on the day of the payment. Returns its id.
declare
  v_customer crm.customers;
  v_vat_payer boolean;
  v_rate numeric;
  v_id bigint;
begin
  perform billing.require_billing();
  select * into v_customer from crm.customers where id = p_customer_id;
  if not found then
    raise exception 'customer % does not exist', p_customer_id using errcode = 'MG048', column = 'customer_id';
  end if;
  if p_amount is null or p_amount <= 0 or p_amount <> round(p_amount, 2) or p_amount >= 1e12 then
    raise exception 'an advance is an amount above zero in hellers, not %', p_amount
      using errcode = 'MG048', column = 'amount';
  end if;
  if p_paid_on is null then
    raise exception 'give the day the advance arrived' using errcode = 'MG048', column = 'paid_on';
  end if;
  if coalesce(btrim(p_description), '') = '' or length(p_description) > 500 then
    raise exception 'an advance needs a description of at most 500 characters' using errcode = 'MG048',
      column = 'description';
  end if;
  select o.vat_payer into v_vat_payer from crm.operators o where o.id = v_customer.operator_id;
  if v_vat_payer then
    v_rate := catalog.vat_rate(p_vat_class, p_paid_on);
  end if;
  v_id := billing.new_document('advance_invoice', p_customer_id, v_customer.operator_id);
  update billing.documents set paid_on = p_paid_on, tax_point = p_paid_on, period = daterange(p_paid_on, p_paid_on + 1)
   where id = v_id;
  insert into billing.document_lines (document_id, position, line_kind, description, quantity, price_mode, vat_rate,
                                      tax_point, amount_without_vat, amount_with_vat)
  select v_id, 1, 'payment', btrim(p_description), 1, 'with_vat', v_rate, p_paid_on, a.amount_without_vat,
         a.amount_with_vat
    from billing.derived_amounts(p_amount, 'with_vat', v_rate, false) a;
  perform billing.finish_drafts(null, v_id);
  perform billing.issue_documents(array[v_id]);
  return v_id;
end;
$$;
comment on function billing.advance_invoice(bigint, numeric, date, text, text) is
'Issue the tax document of an advance payment received (daňový doklad k přijaté platbě); its id.';
revoke all on function billing.advance_invoice(bigint, numeric, date, text, text) from public;
grant execute on function billing.advance_invoice(bigint, numeric, date, text, text)
to mango_billing, mango_agent_scheduler;
