-- A charge (a one-time fee, a period's fee) is paid from its payer's credit once, never beyond the
-- free balance; the renewal pays the period's charge when the billing core made one, and that
-- charge is then paid.
begin;
select plan(7);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_tariff(400, :op) as tariff \gset
select tests.credit_service(:cust, :tariff, '2024-01-01') as svc \gset
select date_trunc('month', crm.business_date(:op))::date as month_start \gset

-- A setup fee and this month's fee, as the billing core makes them.
insert into billing.charges (operator_id, customer_id, payer_id, service_id, plan_id, kind, period, covered,
                             description, price_mode, amount_without_vat, amount_with_vat, vat_class, vat_rate,
                             document_kind)
select :op, :cust, :cust, s.id, s.billing_plan_id, k.kind, k.period, k.period, k.description, 'with_vat',
       k.without_vat, k.with_vat, 'standard', 21, 'none'
  from crm.services s
 cross join (values
   ('one_time', daterange(:'month_start', (:'month_start'::date + 1)), 'Zřízení přípojky', 82.64, 100.00),
   ('recurring', daterange(:'month_start', (:'month_start'::date + interval '1 month')::date), 'Internet', 297.52, 360.00)
 ) k (kind, period, description, without_vat, with_vat)
 where s.id = :svc;
select id as setup from billing.charges where service_id = :svc and kind = 'one_time' \gset
select id as fee from billing.charges where service_id = :svc and kind = 'recurring' \gset

call tests.as_staff('{support}');
select billing.top_up_cash(:cust, 50);
select throws_ok(format($$select billing.pay_charge_from_credit(%s)$$, :setup), '42501', null,
  'support does not pay charges from credit');

call tests.as_staff('{billing}');
select throws_ok(format($$select billing.pay_charge_from_credit(%s)$$, :setup),
  'MG861', 'the free credit is 50.00, less than the 100.00 to spend', 'not beyond the free balance');
select billing.top_up_cash(:cust, 450);
select is((select (amount, charge_id)::text from billing.credit_movements where service_id = :svc and kind = 'spend'),
  format('(360.00,%s)', :fee), 'the top-up renewed the service: its period''s charge, not the list price, is paid');
select is((billing.pay_charge_from_credit(:setup)).amount, 100.00::numeric, 'the setup fee is paid from credit');
select throws_ok(format($$select billing.pay_charge_from_credit(%s)$$, :setup),
  'MG860', format('charge %s is paid from credit already', :setup), 'once');
select throws_ok(format($$select billing.pay_charge_from_credit(%s)$$, :fee),
  'MG860', format('charge %s is paid from credit already', :fee), 'the renewed period''s charge is paid already');
select is((select free from billing.credit_accounts where customer_id = :cust), 40.00::numeric,
  '500 less 360 less 100');

select * from finish();
rollback;
