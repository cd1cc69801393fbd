-- What a prepaid-credit renewal takes: the period that has begun (period_months from the billing
-- day), its part within the service's life pro rata by days, at the service's price with its
-- discounts, and the setup fee with the first period; the billing core's recurring charge for the
-- period when there is one. A suspended
-- service is not renewed (DUN-4), nor one that has not started.
begin;
select plan(10);

select tests.make_operator() as op \gset
select tests.make_tariff(400, :op) as tariff \gset
select tests.make_customer(:op, 'Novák', 'Jan') as jan \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as eva \gset
select tests.make_customer(:op, 'Dvořák', 'Petr') as petr \gset
select tests.make_customer(:op, 'Malá', 'Ida') as ida \gset
select tests.make_customer(:op, 'Zelený', 'Adam') as adam \gset
select tests.make_customer(:op, 'Veselá', 'Olga') as olga \gset
select tests.make_tariff(400, :op) as t_setup \gset
update catalog.prices set setup_fee = 500 where tariff_id = :t_setup;
call tests.as_staff('{billing}');
select count(billing.top_up_cash(c, 5000)) from unnest(array[:jan, :eva, :petr, :ida, :adam, :olga]::bigint[]) c;
call tests.as_superuser();
insert into catalog.customer_discounts (customer_id, percent, valid, reason)
values (:eva, 10, daterange('2024-01-01', null), 'group');

-- Started on the 17th: pays 15 of March's 31 days.
select tests.credit_service(:jan, :tariff, '2025-03-17') as s_new \gset
-- And one with a setup fee: its first period pays it too.
select tests.credit_service(:olga, :t_setup, '2025-03-17') as s_setup \gset
-- Quarterly from the 5th, with a 10 % group discount: December 5th 2023 holds its first day, so
-- its periods start on the 5th of December, March, June and September.
select crm.activate_service(:eva, :tariff, '2024-01-01', null,
  jsonb_build_object('state', 'active', 'billing_plan_id', tests.credit_plan(:op), 'period_months', 3, 'billing_day', 5))
  as s_quarter \gset
-- Suspended for ten days and resumed: pays the 21 other days of March.
select tests.credit_service(:petr, :tariff, '2024-01-01') as s_back \gset
select crm.suspend_service(:s_back, '2025-03-01', '2025-03-11', 'holiday');
select crm.apply_due_service_dates('2025-03-20');
-- Suspended over the day: not renewed.
select tests.credit_service(:adam, :tariff, '2024-01-01') as s_suspended \gset
select crm.suspend_service(:s_suspended, '2025-03-15', '2025-04-15', 'abroad');
-- The billing core charged this one's period already: its charge is what the credit pays.
select tests.credit_service(:ida, :tariff, '2024-01-01') as s_charged \gset
insert into billing.charges (operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered,
                             description, price_mode, amount_without_vat, amount_with_vat, vat_class, vat_rate,
                             document_kind)
select :op, :ida, :ida, s.id, s.billing_plan_id, 'recurring', daterange('2025-03-01', '2025-04-01'),
       daterange('2025-03-01', '2025-04-01'), 'Internet 3/2025', 'with_vat', 275.48, 333.33, 'standard', 21, 'none'
  from crm.services s where s.id = :s_charged
returning id as charge \gset

call tests.as_staff('{billing}');
select is((select (renewed, amount, blocked)::text from billing.renew_prepaid('2025-03-20', :op)),
  '(5,2571.40,0)', 'five services renewed on 20 March 2025, none blocked');
select is((select (amount, period, covered)::text from billing.credit_movements where service_id = :s_new),
  '(193.55,"[2025-03-01,2025-04-01)","[2025-03-17,2025-04-01)")',
  'from the 17th: 400 × 15/31 = 193.55 for the rest of the March period');
select is((select amount from billing.credit_movements where service_id = :s_setup), 693.55::numeric,
  'the first period of a tariff with a setup fee: 193.55 and the setup fee of 500');
select is((select (amount, period, covered)::text from billing.credit_movements where service_id = :s_quarter),
  '(1080.00,"[2025-03-05,2025-06-05)","[2025-03-05,2025-06-05)")',
  'a quarter from the billing day, counted from the period of its first day: 3 × 400 less 10 % = 1080.00');
select is((select (amount, charge_id)::text from billing.credit_movements where service_id = :s_charged),
  format('(333.33,%s)', :charge), 'a period the billing core charged pays its charge');
select is((select amount from billing.credit_movements where service_id = :s_back), 270.97::numeric,
  'ten days suspended and resumed: 400 × 21/31 = 270.97 (a suspension is not billed)');
select is((select count(*)::integer from billing.credit_movements where service_id = :s_suspended), 0,
  'a suspended service is not renewed');
select is((select state from crm.services where id = :s_suspended), 'suspended', 'and stays suspended');

-- The next day the periods are paid; in April the new ones are due.
select is((select renewed from billing.renew_prepaid('2025-03-21', :op)), 0, 'the next day nothing is due');
call tests.as_superuser();
select crm.apply_due_service_dates('2025-04-01');
call tests.as_staff('{billing}');
select is((select (renewed, amount)::text from billing.renew_prepaid('2025-04-01', :op)), '(4,1600.00)',
  'on 1 April the monthly ones are due again (the quarterly one on the 5th, the suspended one when it resumes)');

select * from finish();
rollback;
