-- The billing run (BIL-2): per operator and month, in one transaction of a few set-based
-- statements: start (rights, the operator's run lock, the run's row), charges, draft documents,
-- totals. billing.run does all of it (the console, tests); the billing.run job calls the steps
-- one by one to report progress between them (agents/billing.py). A preview runs the same steps
-- and undoes them, keeping only their counts and totals. Then a run is issued (numbers) or
-- cancelled as a whole (its drafts and charges deleted).

create or replace function billing.tg_runs__finished()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- A run finishes in the transaction that starts it: it is never committed half done. definer: the
-- check runs at commit as the session's role (the scheduler running the job reads no runs).
begin
  if exists (select from billing.runs r where r.id = new.id and r.state = 'running') then
    raise exception 'billing run % was not finished in its transaction (billing.finish_run)', new.id
      using errcode = 'MG043';
  end if;
  return null;
end;
$$;
comment on function billing.tg_runs__finished() is 'Refuse to commit a billing run that did not finish.';
revoke all on function billing.tg_runs__finished() from public;

drop trigger if exists _500_finished on billing.runs;
create constraint trigger _500_finished after insert on billing.runs
deferrable initially deferred for each row execute function billing.tg_runs__finished();

create or replace function billing.run_result(p_run_id bigint)
returns jsonb
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- A run as the job's result and the CLI show it: its state, counts and totals.
  select jsonb_build_object('run', r.id, 'operator', o.code, 'operator_id', r.operator_id,
                            'period', to_char(r.period, 'YYYY-MM'), 'state', r.state, 'counts', r.counts,
                            'totals', r.totals)
    from billing.runs r join crm.operators o on o.id = r.operator_id
   where r.id = p_run_id;
$$;
comment on function billing.run_result(bigint) is 'A billing run''s state, counts and totals as JSON.';
revoke all on function billing.run_result(bigint) from public;
grant execute on function billing.run_result(bigint) to mango_office, mango_agent_scheduler;

create or replace function billing.start_run(
    p_operator_id bigint, p_period text, p_preview boolean, p_job_id bigint default null
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: runs, charges and documents are written only by the billing functions; the caller is
-- checked here: a signed-in billing user (or administrator, or the console), or the scheduler
-- running the billing.run job p_job_id for this operator (a billing user queued it:
-- bus.submit_job checked). Takes the operator's run lock for the rest of the transaction: a
-- second run of the operator at the same time is refused at once, with a message saying why.
declare
  v_period date;
  v_operator crm.operators;
  v_user bigint;
  v_job bus.jobs;
  v_id bigint;
begin
  if p_job_id is not null then
    select * into v_job from bus.jobs j where j.id = p_job_id;
    if not found or auth.caller_role() <> 'mango_agent_scheduler' or v_job.kind <> 'billing.run'
       or v_job.state <> 'running' or (v_job.params ->> 'operator')::bigint is distinct from p_operator_id then
      raise exception 'job % is not a running billing run of operator % that the scheduler runs', p_job_id,
        p_operator_id using errcode = '42501';
    end if;
    v_user := v_job.created_by;
  else
    perform auth.require_role('billing');
    v_user := auth.user_id();
  end if;
  select * into v_operator from crm.operators where id = p_operator_id;
  if not found then
    raise exception 'operator % does not exist', p_operator_id using errcode = 'MG042', column = 'operator';
  end if;
  if p_preview is null then
    raise exception 'say whether the run is a preview' using errcode = 'MG042', column = 'preview';
  end if;
  v_period := billing.checked_period(p_period);
  if v_period > date_trunc('month', crm.business_date(p_operator_id)) + interval '1 month' then
    raise exception 'the billing of % cannot run before % (a month ahead at most)', to_char(v_period, 'YYYY-MM'),
      to_char(v_period - interval '1 month', 'YYYY-MM') using errcode = 'MG042', column = 'period';
  end if;
  if not pg_try_advisory_xact_lock(hashtext('billing.run'), p_operator_id::integer) then
    raise exception 'a billing run of operator % is in progress: try again when it has finished', v_operator.code
      using errcode = 'MG043', column = 'operator';
  end if;
  insert into billing.runs (operator_id, period, state, job_id, created_by)
  values (p_operator_id, v_period, 'running', p_job_id, v_user)
  returning id into v_id;
  return v_id;
end;
$$;
comment on function billing.start_run(bigint, text, boolean, bigint) is
'Start a billing run of an operator for a month (rights, the operator''s run lock); its id.';
revoke all on function billing.start_run(bigint, text, boolean, bigint) from public;
grant execute on function billing.start_run(bigint, text, boolean, bigint) to mango_billing, mango_agent_scheduler;

create or replace function billing.running_run(p_run_id bigint)
returns billing.runs
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The run a step works on: started in this transaction (a running run is seen by no other one).
declare
  v_run billing.runs;
begin
  select * into v_run from billing.runs where id = p_run_id and state = 'running';
  if not found then
    raise exception 'billing run % is not running in this transaction (billing.start_run first)', p_run_id
      using errcode = 'MG043';
  end if;
  return v_run;
end;
$$;
comment on function billing.running_run(bigint) is 'The billing run started in this transaction (else an error).';
revoke all on function billing.running_run(bigint) from public;

create or replace function billing.run_charges(p_run_id bigint)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.start_run, which checked the caller. The charges of the run, set-based:
-- the recurring and setup fees of the billing periods the run bills (billing.period_charges) that
-- were not charged before (a second run creates nothing: one set of fees per service and period,
-- one setup fee per service), the usage of the periods the plans bill (billing.usage_charges),
-- and the charges staff added that are due by the end of the month and wait for a document.
-- Services on a prepaid-credit plan are left to their renewal from credit (UC-2). Returns how many.
declare
  v_run billing.runs := billing.running_run(p_run_id);
  v_today date := crm.business_date(v_run.operator_id);
  v_vat_payer boolean;
  v_count integer;
  v_total integer := 0;
  v_usage record;
  v_nestloop text;
begin
  select o.vat_payer into v_vat_payer from crm.operators o where o.id = v_run.operator_id;
  -- The fees not charged before (billing.period_charges leaves out the periods charged; the setup
  -- fees charged are left out here) by anti-joins, by hash: never a scan of the charges per fee
  -- (which the planner picks with the statistics of a new, or nearly empty, table of charges).
  v_nestloop := current_setting('enable_nestloop');
  perform set_config('enable_nestloop', 'off', true);
  insert into billing.charges (
    operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered, days, period_days, tariff_id,
    description, quantity, unit, unit_price, discount_percent, price_mode, amount_without_vat, amount_with_vat,
    vat_class, vat_rate, reverse_charge, tax_point, document_kind, due_days, bill_separately, run_id, key, created_by
  )
  select v_run.operator_id, c.customer_id, c.payer_id, c.service_id, c.plan_id, c.kind, c.period, c.covered, c.days,
         c.period_days, c.tariff_id, c.description, c.quantity, c.unit, c.unit_price, c.discount_percent, c.price_mode,
         c.amount_without_vat, c.amount_with_vat, c.vat_class, c.vat_rate, c.reverse_charge, c.tax_point,
         c.document_kind, c.due_days, c.bill_separately, p_run_id, c.key, v_run.created_by
    from billing.period_charges(v_run.operator_id, v_run.period) c
   where not c.prepaid_credit
     and not exists (select from billing.charges x
                      where c.kind = 'one_time' and x.service_id = c.service_id and x.kind = 'one_time'
                        and x.key = 'setup');
  get diagnostics v_count = row_count;
  perform set_config('enable_nestloop', v_nestloop, true);
  v_total := v_total + v_count;
  perform billing.refresh_statistics('billing.charges', v_count);

  -- Usage: of the run's month for plans that bill it as it is (actual), of the month before for
  -- the others (postpaid); each usage period asked once, and only if a plan bills it.
  for v_usage in
    select m.mode, m.period
      from (values ('actual', daterange(v_run.period, (v_run.period + interval '1 month')::date)),
                   ('postpaid', daterange((v_run.period - interval '1 month')::date, v_run.period))) m (mode, period)
     where exists (select from billing.plans p
                    where p.operator_id = v_run.operator_id and p.usage_mode = m.mode and not p.prepaid_credit)
  loop
    insert into billing.charges (
      operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered, description, quantity, unit,
      unit_price, price_mode, amount_without_vat, amount_with_vat, vat_class, vat_rate, reverse_charge, tax_point,
      document_kind, due_days, bill_separately, run_id, key, created_by
    )
    select v_run.operator_id, s.customer_id, coalesce(cu.parent_id, cu.id), s.id, pl.id, 'usage', v_usage.period,
           coalesce(nullif(u.covered * v_usage.period, 'empty'), v_usage.period), u.description,
           coalesce(u.quantity, 1), u.unit,
           case when coalesce(u.quantity, 0) = 0 then a.amount_without_vat
                else round(a.amount_without_vat / u.quantity, 4) end,
           u.price_mode, a.amount_without_vat, a.amount_with_vat, u.vat_class, x.rate, pl.reverse_charge, x.tax_point,
           pl.usage_document, pl.due_days, s.bill_separately, p_run_id, u.key, v_run.created_by
      from billing.usage_charges(v_run.operator_id, v_usage.period) u
      join crm.services s on s.id = u.service_id and s.operator_id = v_run.operator_id
      join crm.customers cu on cu.id = s.customer_id
      join billing.plans pl on pl.id = s.billing_plan_id and pl.usage_mode = v_usage.mode and not pl.prepaid_credit
     cross join lateral (
       select case pl.tax_point_rule when 'period_end' then upper(v_usage.period) - 1 end as tax_point,
              case when v_vat_payer
                   then catalog.vat_rate(u.vat_class, coalesce(case pl.tax_point_rule
                                                                   when 'period_end' then upper(v_usage.period) - 1 end,
                                                               v_today)) end as rate
     ) x
     cross join lateral billing.derived_amounts(round(u.amount, 2), u.price_mode, x.rate, pl.reverse_charge) a
     where u.amount <> 0
       and not exists (select from billing.charges c
                        where c.service_id = u.service_id and c.kind = 'usage' and c.period = v_usage.period
                          and c.key = u.key);
    get diagnostics v_count = row_count;
    v_total := v_total + v_count;
  end loop;

  -- Charges staff added (billing.add_charge) dated up to the end of the month, waiting for a document.
  update billing.charges c set run_id = p_run_id
   where c.operator_id = v_run.operator_id and c.run_id is null and c.corrects_id is null and c.key is null
     and lower(c.period) < (v_run.period + interval '1 month')::date and c.document_kind <> 'none'
     and not exists (select from billing.document_lines l where l.charge_id = c.id);
  get diagnostics v_count = row_count;
  return v_total + v_count;
end;
$$;
comment on function billing.run_charges(bigint) is
'The charges of a billing run: fees not charged before, usage, staff-added charges due (set-based).';
alter function billing.run_charges(bigint) set work_mem = '64MB';
revoke all on function billing.run_charges(bigint) from public;
grant execute on function billing.run_charges(bigint) to mango_billing, mango_agent_scheduler;

create or replace function billing.run_documents(p_run_id bigint)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.start_run. The draft documents of the run's charges (billing.make_documents).
begin
  perform billing.running_run(p_run_id);
  return billing.make_documents(p_run_id);
end;
$$;
comment on function billing.run_documents(bigint) is 'The draft documents of a billing run''s charges; how many.';
revoke all on function billing.run_documents(bigint) from public;
grant execute on function billing.run_documents(bigint) to mango_billing, mango_agent_scheduler;

create or replace function billing.run_totals(p_run_id bigint, out counts jsonb, out totals jsonb)
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- What a run made: charges and documents per kind, the customers billed, amounts without VAT,
  -- VAT and with VAT per kind of charge, what the documents ask to be paid and their rounding
  -- (amounts as text with two decimals, so that no JSON reader turns money into a float).
  with c as (
    select c.kind, count(*) as n, sum(c.amount_without_vat) as without_vat, sum(c.amount_with_vat) as with_vat
      from billing.charges c where c.run_id = p_run_id group by c.kind
  ),
  d as (
    select d.kind, count(*) as n, sum(d.amount_due) as due, sum(d.rounding) as rounding
      from billing.documents d where d.run_id = p_run_id group by d.kind
  )
  select jsonb_build_object(
           'charges', coalesce((select sum(n) from c), 0),
           'charges_by_kind', coalesce((select jsonb_object_agg(kind, n) from c), '{}'),
           'documents', coalesce((select sum(n) from d), 0),
           'documents_by_kind', coalesce((select jsonb_object_agg(kind, n) from d), '{}'),
           'customers', (select count(distinct x.payer_id) from billing.charges x where x.run_id = p_run_id)),
         jsonb_build_object(
           'without_vat', coalesce((select sum(without_vat) from c), 0)::numeric(14, 2)::text,
           'vat', coalesce((select sum(with_vat - without_vat) from c), 0)::numeric(14, 2)::text,
           'with_vat', coalesce((select sum(with_vat) from c), 0)::numeric(14, 2)::text,
           'with_vat_by_kind', coalesce((select jsonb_object_agg(kind, with_vat::text) from c), '{}'),
           'documents_due', coalesce((select sum(due) from d), 0)::numeric(14, 2)::text,
           'rounding', coalesce((select sum(rounding) from d), 0)::numeric(14, 2)::text);
$$;
comment on function billing.run_totals(bigint) is 'The counts and totals of what a billing run made.';
revoke all on function billing.run_totals(bigint) from public;

create or replace function billing.finish_run(p_run_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.start_run. Record the run's counts and totals; it is done. Its result.
declare
  v_totals record;
begin
  perform billing.running_run(p_run_id);
  select * into v_totals from billing.run_totals(p_run_id);
  update billing.runs set state = 'done', counts = v_totals.counts, totals = v_totals.totals, finished_at = now()
   where id = p_run_id;
  return billing.run_result(p_run_id);
end;
$$;
comment on function billing.finish_run(bigint) is 'Finish a billing run: its counts and totals; its result.';
revoke all on function billing.finish_run(bigint) from public;
grant execute on function billing.finish_run(bigint) to mango_billing, mango_agent_scheduler;

create or replace function billing.run(
    p_operator_id bigint, p_period text, p_preview boolean default false, p_job_id bigint default null
)
returns jsonb
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.start_run. The whole run in one call: start, charges, documents, totals.
-- A preview runs exactly that and undoes it (a subtransaction rolled back), then records a run of
-- state 'preview' with the counts and totals the run would have: nothing else is written.
declare
  v_run bigint;
  v_counts jsonb;
  v_totals jsonb;
  v_created_by bigint;
begin
  if not coalesce(p_preview, false) then
    v_run := billing.start_run(p_operator_id, p_period, false, p_job_id);
    perform billing.run_charges(v_run);
    perform billing.run_documents(v_run);
    return billing.finish_run(v_run);
  end if;
  begin
    v_run := billing.start_run(p_operator_id, p_period, true, p_job_id);
    perform billing.run_charges(v_run);
    perform billing.run_documents(v_run);
    select t.counts, t.totals into v_counts, v_totals from billing.run_totals(v_run) t;
    select r.created_by into v_created_by from billing.runs r where r.id = v_run;
    raise exception 'undo the preview' using errcode = 'MG049';
  exception when sqlstate 'MG049' then
    null;  -- everything the preview wrote is gone; its counts and totals are kept in the variables
  end;
  insert into billing.runs (operator_id, period, state, job_id, counts, totals, created_by, finished_at)
  values (p_operator_id, billing.checked_period(p_period), 'preview', p_job_id, v_counts, v_totals, v_created_by, now())
  returning id into v_run;
  return billing.run_result(v_run);
end;
$$;
comment on function billing.run(bigint, text, boolean, bigint) is
'Run (or preview) the billing of an operator for a month: charges and draft documents; the result.';
revoke all on function billing.run(bigint, text, boolean, bigint) from public;
grant execute on function billing.run(bigint, text, boolean, bigint) to mango_billing, mango_agent_scheduler;

create or replace function billing.issue_run(p_run_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: documents are written only by the billing functions; the caller's session is checked.
-- Issue every draft of a finished run: numbers from the operator's series in document order
-- (gap-free; a concurrent issue waits for the counter), dates, parties as they are today.
declare
  v_run billing.runs;
  v_ids bigint[];
  v_count integer;
begin
  perform auth.require_role('billing');
  select * into v_run from billing.runs where id = p_run_id for update;
  if not found then
    raise exception 'billing run % does not exist', p_run_id using errcode = 'MG043', column = 'run';
  end if;
  if v_run.state <> 'done' then
    raise exception 'billing run % is %: only a finished run is issued', p_run_id, v_run.state
      using errcode = 'MG043', column = 'run';
  end if;
  select coalesce(array_agg(d.id order by d.id), '{}') into v_ids
    from billing.documents d where d.run_id = p_run_id and d.state = 'draft';
  v_count := billing.issue_documents(v_ids);
  update billing.runs
     set state = 'issued', issued_by = auth.user_id(), issued_at = now(),
         counts = counts || jsonb_build_object('issued', v_count)
   where id = p_run_id;
  return billing.run_result(p_run_id) || jsonb_build_object(
    'numbers', (select jsonb_build_object('first', min(d.number), 'last', max(d.number))
                  from billing.documents d where d.run_id = p_run_id));
end;
$$;
comment on function billing.issue_run(bigint) is 'Issue the draft documents of a finished billing run (their numbers).';
revoke all on function billing.issue_run(bigint) from public;
grant execute on function billing.issue_run(bigint) to mango_billing;

create or replace function billing.cancel_run(p_run_id bigint, p_reason text default null)
returns jsonb
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: see billing.issue_run. Cancel a finished run whose documents are not issued: its draft
-- documents and the charges it made are deleted, the charges staff added go back to waiting; the
-- run records who cancelled it, when, why and what was deleted (and the audit has the run's change).
declare
  v_run billing.runs;
  v_documents integer;
  v_charges integer;
  v_released integer;
begin
  perform auth.require_role('billing');
  if length(p_reason) > 500 then
    raise exception 'the reason has at most 500 characters' using errcode = 'MG043', column = 'reason';
  end if;
  select * into v_run from billing.runs where id = p_run_id for update;
  if not found then
    raise exception 'billing run % does not exist', p_run_id using errcode = 'MG043', column = 'run';
  end if;
  if v_run.state <> 'done' then
    raise exception 'billing run % is %: only a finished run whose documents are not issued can be cancelled',
      p_run_id, v_run.state using errcode = 'MG043', column = 'run';
  end if;
  if exists (select from billing.documents d where d.run_id = p_run_id and d.state = 'issued') then
    raise exception 'billing run % has issued documents: correct them with credit notes instead', p_run_id
      using errcode = 'MG043', column = 'run';
  end if;
  delete from billing.documents where run_id = p_run_id;
  get diagnostics v_documents = row_count;
  delete from billing.charges where run_id = p_run_id and key is not null;
  get diagnostics v_charges = row_count;
  update billing.charges set run_id = null where run_id = p_run_id;
  get diagnostics v_released = row_count;
  update billing.runs
     set state = 'cancelled', cancelled_by = auth.user_id(), cancelled_at = now(), cancel_reason = nullif(btrim(p_reason), ''),
         counts = counts || jsonb_build_object('deleted_documents', v_documents, 'deleted_charges', v_charges,
                                               'released_charges', v_released)
   where id = p_run_id;
  return billing.run_result(p_run_id);
end;
$$;
comment on function billing.cancel_run(bigint, text) is
'Cancel a finished billing run whose documents are not issued: its drafts and charges are deleted.';
revoke all on function billing.cancel_run(bigint, text) from public;
grant execute on function billing.cancel_run(bigint, text) to mango_billing;
