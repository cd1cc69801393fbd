-- What the billing run bills (BIL-2): a service still ordered is not billed; a period the run's
-- timing missed is caught up by the next run (a service activated after the month's run gets its
-- partial first period then; a prepaid one its first period and the one the run before billed
-- ahead without it); a month no run billed is not caught up; a second run creates nothing.
begin;
select plan(8);

select tests.billing_operator() as op \gset
select tests.make_tariff(300, :op) as t300 \gset
select tests.billing_plan(:op, '{"mode": "actual"}') as actual \gset
select tests.billing_plan(:op, '{"mode": "prepaid"}') as prepaid \gset
select tests.make_customer(:op, 'Objednaný', 'Oto') as ordered_c \gset
select tests.make_customer(:op, 'Pozdní', 'Petr') as late_c \gset
select tests.make_customer(:op, 'Předplacený', 'Pavel') as prepaid_c \gset
select crm.activate_service(:ordered_c, :t300, '2025-11-05', null,
  jsonb_build_object('state', 'ordered', 'billing_plan_id', :actual)) as s_ordered \gset

-- Running since September, before the first run (October): a month no run billed is not caught up.
select tests.make_customer(:op, 'Starý', 'Stanislav') as old_c \gset
select crm.activate_service(:old_c, :t300, '2025-09-01', null,
  jsonb_build_object('state', 'active', 'billing_plan_id', :actual)) as s_old \gset

-- The runs of October and November, before the two other services started.
call tests.as_staff('{billing}');
select billing.run(:op, '2025-10') as oct \gset
select billing.run(:op, '2025-11') as nov \gset
call tests.as_superuser();
select is((select count(*)::integer from billing.charges where service_id = :s_ordered), 0,
  'a service still ordered is not billed');

-- Activated after the November run: on the 17th (actual), on the 10th (prepaid: November's run billed December).
select crm.activate_service(:late_c, :t300, '2025-11-17', null,
  jsonb_build_object('state', 'active', 'billing_plan_id', :actual)) as s_late \gset
select crm.activate_service(:prepaid_c, :t300, '2025-11-10', null,
  jsonb_build_object('state', 'active', 'billing_plan_id', :prepaid)) as s_prepaid \gset

call tests.as_staff('{billing}');
select billing.run(:op, '2025-12') as dec \gset
call tests.as_superuser();
select is((select string_agg(format('%s %s', covered, amount_with_vat), '; ' order by lower(period))
             from billing.charges where service_id = :s_late and kind = 'recurring'),
  '[2025-11-17,2025-12-01) 140.00; [2025-12-01,2026-01-01) 300.00',
  'activated on the 17th after the November run: the December run bills November''s 14/30 (140.00) and December');
select is((select string_agg(format('%s %s', covered, amount_with_vat), '; ' order by lower(period))
             from billing.charges where service_id = :s_prepaid and kind = 'recurring'),
  '[2025-11-10,2025-12-01) 210.00; [2025-12-01,2026-01-01) 300.00; [2026-01-01,2026-02-01) 300.00',
  'prepaid, activated on the 10th: the December run bills January and catches up November''s 21/30 and December');
select is((select count(*)::integer from billing.charges where service_id = :s_ordered), 0,
  'the ordered service is still not billed');

select is((select string_agg(format('%s %s', covered, amount_with_vat), '; ' order by lower(period))
             from billing.charges where service_id = :s_old and kind = 'recurring'),
  '[2025-10-01,2025-11-01) 300.00; [2025-11-01,2025-12-01) 300.00; [2025-12-01,2026-01-01) 300.00',
  'a month no run billed is not caught up: September is before the operator''s first run');

-- A second run of December creates nothing.
call tests.as_staff('{billing}');
select billing.run(:op, '2025-12') as dec2 \gset
call tests.as_superuser();
select is((:'dec2'::jsonb -> 'counts' ->> 'charges', :'dec2'::jsonb -> 'counts' ->> 'documents')::text, '(0,0)',
  'a second run of the same period creates nothing');

-- Once active, the ordered service's periods since its start are billed by the next run.
update crm.services set state = 'active' where id = :s_ordered;
call tests.as_staff('{billing}');
select billing.run(:op, '2026-01') as jan \gset
call tests.as_superuser();
select is((select string_agg(format('%s %s', covered, amount_with_vat), '; ' order by lower(period))
             from billing.charges where service_id = :s_ordered and kind = 'recurring'),
  '[2025-11-05,2025-12-01) 260.00; [2025-12-01,2026-01-01) 300.00; [2026-01-01,2026-02-01) 300.00',
  'activated, it gets November''s 26/30, December and January on the January run');
select is((select count(*)::integer from billing.charges where service_id in (:s_late, :s_prepaid)
              and run_id = (:'jan'::jsonb ->> 'run')::bigint),
  2, 'the January run bills only what is new: January of the one, February of the prepaid one');

select * from finish();
rollback;
