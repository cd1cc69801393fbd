-- What the billing run charges (BIL-2, CAT-6, DUN-4), to the haléř: a mid-month tariff change
-- under both plan rules, a service started on the 17th and one ended on the 9th, a suspension of
-- ten days, billing periods of 1/2/3/6/12 months and a billing day, bundle and group discounts as
-- catalog.price_for computes them, one-time fees (a tariff's setup fee, a fee staff add).
-- March 2025 has 31 days; the prices are monthly, with VAT.
begin;
select plan(18);

select tests.billing_operator() as op \gset
select tests.make_tariff(500, :op) as t500 \gset
select tests.make_tariff(800, :op) as t800 \gset
select tests.billing_plan(:op, '{"tariff_change": "full_old_prorata_new"}') as full_old \gset
select tests.make_customer(:op, 'Novák', 'Jan') as jan \gset

select crm.activate_service(:jan, :t500, '2024-01-01', null, '{"state": "active"}') as s_both \gset
select crm.change_tariff(:s_both, :t800, '2025-03-11');
select crm.activate_service(:jan, :t500, '2024-01-01', null,
  jsonb_build_object('state', 'active', 'billing_plan_id', :full_old)) as s_full_old \gset
select crm.change_tariff(:s_full_old, :t800, '2025-03-11');
select crm.activate_service(:jan, :t500, '2025-03-17', null, '{"state": "active"}') as s_17th \gset
select crm.activate_service(:jan, :t500, '2024-01-01', null, '{"state": "active"}') as s_9th \gset
select crm.end_service(:s_9th, '2025-03-10', 'moved away');
select crm.activate_service(:jan, :t500, '2024-01-01', null, '{"state": "active"}') as s_susp \gset
select crm.suspend_service(:s_susp, '2025-03-01', '2025-03-11', 'holiday');

call tests.as_staff('{billing}');
select lives_ok(format('select billing.run(%s, %L)', :op, '2025-03'), 'the billing of March 2025 runs');
call tests.as_superuser();

select is((select string_agg(format('%s %s/%s %s', covered, days, period_days, amount_with_vat), '; '
                              order by lower(covered))
             from billing.charges where service_id = :s_both),
  '[2025-03-01,2025-03-11) 10/31 161.29; [2025-03-11,2025-04-01) 21/31 541.94',
  'prorata_both: 500 × 10/31 = 161.29 for the old tariff, 800 × 21/31 = 541.94 for the new');
select is((select string_agg(format('%s %s/%s %s', covered, days, period_days, amount_with_vat), '; '
                              order by lower(covered), days desc)
             from billing.charges where service_id = :s_full_old),
  '[2025-03-01,2025-04-01) 31/31 500.00; [2025-03-11,2025-04-01) 21/31 541.94',
  'full_old_prorata_new: the old tariff''s whole 500.00 and the new one 800 × 21/31 = 541.94');
call tests.as_staff('{billing}');
select is((select string_agg(format('%s/%s', days, period_days), '; ' order by days desc)
             from billing.included_shares(:op, daterange('2025-03-01', '2025-04-01')) where service_id = :s_full_old),
  '31/31; 21/31', 'included units by the same rule: the old tariff''s whole, the new one''s 21/31 (rating uses it)');
call tests.as_superuser();
select is((select (covered, quantity, unit, amount_with_vat, amount_without_vat)::text
             from billing.charges where service_id = :s_17th),
  '("[2025-03-17,2025-04-01)",15.0000,day,241.94,199.95)',
  'started on the 17th: 15 days, 500 × 15/31 = 241.94 (base 199.95, its VAT from above)');
select is((select (covered, amount_with_vat)::text from billing.charges where service_id = :s_9th),
  '("[2025-03-01,2025-03-10)",145.16)', 'ended on the 9th: 9 days, 500 × 9/31 = 145.16');
select is((select (days, amount_with_vat)::text from billing.charges where service_id = :s_susp),
  '(21,338.71)', 'suspended for ten days: the other 21 days, 500 × 21/31 = 338.71');

-- Periods of 1, 2, 3, 6 and 12 months, and a monthly service billed from the 15th.
select tests.billing_operator() as op2 \gset
select tests.make_tariff(500, :op2) as u500 \gset
select tests.make_customer(:op2, 'Svobodová', 'Eva') as eva \gset
select array_agg(crm.activate_service(:eva, :u500, '2025-01-01', null,
  jsonb_build_object('state', 'active', 'period_months', m)) order by m) as months
  from unnest(array[1, 2, 3, 6, 12]) m \gset
select crm.activate_service(:eva, :u500, '2025-01-01', null,
  '{"state": "active", "billing_day": 15}') as s_day15 \gset

call tests.as_staff('{billing}');
select billing.run(:op2, '2024-12') is not null as ran_dec \gset
select billing.run(:op2, '2025-01') is not null as ran_jan \gset
select billing.run(:op2, '2025-02') is not null as ran_feb \gset
call tests.as_superuser();

select is((select string_agg(format('%s×%s %s %s %s', s.period_months, c.quantity, c.unit, c.period,
                                    c.amount_with_vat), '; ' order by s.period_months, lower(c.period))
             from billing.charges c join crm.services s on s.id = c.service_id
            where c.service_id = any(:'months'::bigint[])),
  '1×1.0000 month [2025-01-01,2025-02-01) 500.00; 1×1.0000 month [2025-02-01,2025-03-01) 500.00; '
  '2×2.0000 month [2025-01-01,2025-03-01) 1000.00; 3×3.0000 month [2025-01-01,2025-04-01) 1500.00; '
  '6×6.0000 month [2025-01-01,2025-07-01) 3000.00; 12×12.0000 month [2025-01-01,2026-01-01) 6000.00',
  'periods of 1/2/3/6/12 months: billed once each by the run of the month they start in, months × price');
select is((select unit_price from billing.charges where service_id = (:'months'::bigint[])[5]),
  413.2231::numeric, 'a 12-month period''s unit price is the monthly price without VAT (500 / 1.21)');
select is((select string_agg(format('%s %s %s/%s %s', c.period, c.covered, c.days, c.period_days,
                                    c.amount_with_vat), '; ' order by lower(c.period))
             from billing.charges c where c.service_id = :s_day15),
  '[2024-12-15,2025-01-15) [2025-01-01,2025-01-15) 14/31 225.81; '
  '[2025-01-15,2025-02-15) [2025-01-15,2025-02-15) 31/31 500.00; '
  '[2025-02-15,2025-03-15) [2025-02-15,2025-03-15) 28/28 500.00',
  'billing day 15: the period from 15 December holds its first 14 days (225.81), then whole periods');

-- Bundle and group discounts (catalog.price_for): TV Basic 200 in the bundle at 10 % off, and a
-- 5 % group discount of the customer: 200 × 0.9 × 0.95 = 171.00; Fiber 300 × 0.95 = 285.00.
select tests.make_catalogue() as op3 \gset
insert into crm.number_series (operator_id, kind, format) values (:op3, 'invoice', 'F{YYYY}{N:5}');
select tests.make_customer(:op3, 'Dvořák', 'Petr') as petr \gset
insert into catalog.customer_discounts (customer_id, percent, valid, reason)
values (:petr, 5, daterange('2024-01-01', null), 'group');
select crm.activate_bundle(:petr, (select id from catalog.bundles where operator_id = :op3), '2024-01-01', null,
                           '{"state": "active"}');
call tests.as_staff('{billing}');
select billing.run(:op3, '2025-03') is not null as ran_bundle \gset
call tests.as_superuser();
select is((select string_agg(format('%s %s %s', t.code, c.discount_percent, c.amount_with_vat), '; ' order by t.code)
             from billing.charges c join catalog.tariffs t on t.id = c.tariff_id where c.customer_id = :petr),
  'i300 5.0000 285.00; tvbasic 14.5000 171.00',
  'bundle and group discounts as catalog.price_for: 300 less 5 % = 285.00; 200 less 10 % and 5 % = 171.00');
select is((select (amount_with_vat, monthly_with_vat)::text
             from billing.charges c, catalog.price_for(c.tariff_id, '2025-03-01', c.tariff_id * 0 + (
                    select s.bundle_id from crm.services s where s.id = c.service_id), :petr) p
            where c.customer_id = :petr and c.discount_percent = 14.5),
  '(171.00,171.00)', 'the charge is exactly what catalog.price_for says');

-- One-time fees: the tariff's setup fee when a service starts in the billed period (once), and
-- a fee staff add on a service, documented by the next run.
select tests.make_tariff(400, :op) as t400 \gset
update catalog.prices set setup_fee = 990 where tariff_id = :t400;
select crm.activate_service(:jan, :t400, '2025-04-10', null, '{"state": "active"}') as s_setup \gset
call tests.as_staff('{billing}');
select billing.add_charge(:s_17th, 'one_time', 'Výjezd technika', 350.00, '2025-04-20') as fee \gset
select billing.run(:op, '2025-04') is not null as ran_apr \gset
select billing.run(:op, '2025-04') is not null as ran_apr_again \gset
call tests.as_superuser();
select is((select string_agg(format('%s %s %s %s', kind, description, covered, amount_with_vat), '; '
                              order by kind desc)
             from billing.charges where service_id = :s_setup),
  format('recurring Internet %1$s – Tariff 400 [2025-04-10,2025-05-01) 280.00; '
         'one_time Zřízení: Internet %1$s – Tariff 400 [2025-04-10,2025-04-11) 990.00',
         (select substr(p.name, 10) from catalog.products p join catalog.tariffs t on t.product_id = p.id
           where t.id = :t400)),
  'a service started on 10 April: 21/30 of 400 = 280.00 and its tariff''s setup fee 990.00, once');
select is((select (kind, amount_with_vat, amount_without_vat, vat_rate, run_id is not null)::text
             from billing.charges where id = :fee),
  '(one_time,350.00,289.26,21.00,t)', 'a one-time fee staff add: 350.00 with VAT, billed by the April run');
select is((select count(*)::integer from billing.document_lines where charge_id = :fee), 1,
  'and on the customer''s April invoice');
select is((select count(*)::integer from billing.charges where service_id = :s_setup and kind = 'one_time'), 1,
  'a second run charges the setup fee no second time');

call tests.as_staff('{billing}');
select throws_ok(format('select billing.add_charge(%s, %L, %L, 10.005)', :s_17th, 'one_time', 'Fee'), 'MG046',
  NULL, 'an amount is in hellers');
select throws_ok(format('select billing.add_charge(%s, %L, %L, 10)', :s_17th, 'discount', 'Sleva'), 'MG046',
  'a discount is a negative amount, any other charge a positive one', 'a discount is negative');

select * from finish();
rollback;
