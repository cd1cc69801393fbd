-- The tariff's included minutes (parameter free_minutes) cover national calls in call order; in a
-- partial period they are pro-rated by the rule of the fee (billing.included_shares, CAT-6): a
-- service started on the 17th gets 14/30 of them; a tariff change on the 15th gives 14/30 of the
-- old and 16/30 of the new tariff's minutes under prorata_both, the old one's whole and 16/30 of
-- the new one's under full_old_prorata_new. International calls never use them. Czech fixed lines
-- cost 1.00 a minute in peak (tests.make_rate_table).
begin;
select plan(9);

select tests.make_operator() as op \gset
select tests.make_rate_table(:op) as std \gset
select tests.make_usage_tariff(:op, '{"free_minutes": "100"}') as t100 \gset
select tests.make_usage_tariff(:op, '{"free_minutes": "300"}') as t300 \gset
insert into billing.plans (operator_id, code, name, tariff_change)
values (:op, 'old-whole', 'Old tariff whole', 'full_old_prorata_new') returning id as old_whole \gset
select tests.make_customer(:op, 'Novák', 'Jan') as jan \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as eva \gset
select tests.make_customer(:op, 'Dvořák', 'Petr') as petr \gset
select tests.make_customer(:op, 'Malá', 'Ida') as ida \gset
select tests.make_voice_service(:jan, :t100, '+420532100001') as s_full \gset
select tests.make_voice_service(:eva, :t100, '+420532100002', '2026-11-17') as s_late \gset
select tests.make_voice_service(:petr, :t100, '+420532100003') as s_both \gset
select crm.activate_service(:ida, :t100, '2026-01-01', null,
  jsonb_build_object('state', 'active', 'billing_plan_id', :old_whole,
                     'params', jsonb_build_object('phone_number', '+420532100004'))) as s_old \gset
select crm.change_tariff(:s_both, :t300, '2026-11-15');
select crm.change_tariff(:s_old, :t300, '2026-11-15');

-- Jan: 100 minutes; 30 and 60 minutes to fixed lines, then 20 minutes: 10 of them are free.
-- A 5-minute call to Slovakia in between uses none.
select tests.make_call(:op, '532100001', '245123456', '2026-11-02 08:00', 1800) as j1 \gset
select tests.make_call(:op, '532100001', '00421255123456', '2026-11-02 09:00', 300) as j_sk \gset
select tests.make_call(:op, '532100001', '245123456', '2026-11-03 08:00', 3600) as j2 \gset
select tests.make_call(:op, '532100001', '245123456', '2026-11-04 08:00', 1200) as j3 \gset
select tests.make_call(:op, '532100001', '245123456', '2026-11-05 08:00', 60) as j4 \gset
-- The others: one long call each (five hours) that the included minutes cannot cover.
select tests.make_call(:op, '532100002', '245123456', '2026-11-18 08:00', 18000) as e1 \gset
select tests.make_call(:op, '532100003', '245123456', '2026-11-18 08:00', 18000) as p1 \gset
select tests.make_call(:op, '532100004', '245123456', '2026-11-18 08:00', 18000) as i1 \gset

call tests.as_staff('{billing}');
select is((select rated from billing.rate_calls(:op, '[2026-11-01,2026-12-01)')), 8, 'eight calls rated');
call tests.as_superuser();

select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :j1), '(1800,0.00)',
  'the first call is free');
select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :j_sk), '(0,25.00)',
  'a call to Slovakia uses no included minutes: 5 × 5.00');
select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :j2), '(3600,0.00)',
  'the second is free too (90 of 100 minutes used)');
select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :j3), '(600,10.00)',
  'the third: 10 minutes free, 10 minutes at 1.00');
select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :j4), '(0,1.00)',
  'then every minute is paid');
select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :e1), '(2800,253.33)',
  'started on the 17th: 100 × 14/30 = 46.67 minutes (2,800 s) free; 15,200 s at 1.00 = 253.33');
select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :p1), '(12400,93.33)',
  'tariff change on the 15th, prorata_both: 100 × 14/30 + 300 × 16/30 = 206.67 minutes (12,400 s) free');
select is((select (free_seconds, price)::text from billing.rated_calls where call_id = :i1), '(15600,40.00)',
  'the same change under full_old_prorata_new: 100 + 300 × 16/30 = 260 minutes (15,600 s) free');

select * from finish();
rollback;
