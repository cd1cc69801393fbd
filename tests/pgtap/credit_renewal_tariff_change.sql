-- A prepaid-credit period with a tariff change inside it costs what the plan says (CAT-6): each
-- tariff for its own days (prorata_both), or the old tariff's whole fee and the new one pro rata
-- (full_old_prorata_new), whether the change was known when the period was paid or made later:
-- then the renewal pays the rest, or gives back what the period no longer costs (a cheaper tariff
-- under prorata_both, a service that ended inside the paid period). Short of credit for the rest:
-- blocked for credit. A second renewal settles nothing twice.
begin;
select plan(14);

select tests.make_operator() as op \gset
select tests.make_tariff(400, :op) as t400 \gset
select tests.make_tariff(700, :op) as t700 \gset
select tests.make_customer(:op, 'Novák', 'Jan') as c_known_both \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as c_known_full \gset
select tests.make_customer(:op, 'Dvořák', 'Petr') as c_later_both \gset
select tests.make_customer(:op, 'Malá', 'Ida') as c_later_full \gset
select tests.make_customer(:op, 'Zelený', 'Adam') as c_cheaper \gset
select tests.make_customer(:op, 'Veselá', 'Olga') as c_ended \gset
select tests.make_customer(:op, 'Černý', 'Karel') as c_short \gset
call tests.as_staff('{billing}');
select count(billing.top_up_cash(c, 5000))
  from unnest(array[:c_known_both, :c_known_full, :c_later_both, :c_later_full, :c_cheaper, :c_ended]::bigint[]) c;
select billing.top_up_cash(:c_short, 450);

call tests.as_superuser();
select tests.credit_service(:c_known_both, :t400) as s_known_both \gset
select tests.credit_service(:c_known_full, :t400) as s_known_full \gset
select tests.credit_service(:c_later_both, :t400) as s_later_both \gset
select tests.credit_service(:c_later_full, :t400) as s_later_full \gset
select tests.credit_service(:c_cheaper, :t700) as s_cheaper \gset
select tests.credit_service(:c_ended, :t400) as s_ended \gset
select tests.credit_service(:c_short, :t400) as s_short \gset
update billing.plans set tariff_change = 'full_old_prorata_new'
 where id in (select billing_plan_id from crm.services where id in (:s_known_full, :s_later_full));
-- Two changes on 11 March 2025 known before the period is paid.
select crm.change_tariff(:s_known_both, :t700, '2025-03-11');
select crm.change_tariff(:s_known_full, :t700, '2025-03-11');

call tests.as_staff('{billing}');
select is((select (renewed, amount, returned, blocked)::text from billing.renew_prepaid('2025-03-01', :op)),
  '(7,3777.41,0.00,0)', 'on 1 March every period is paid');
select is((select amount from billing.credit_movements where service_id = :s_known_both), 603.22::numeric,
  'prorata_both: 400 × 10/31 + 700 × 21/31 = 129.03 + 474.19');
select is((select amount from billing.credit_movements where service_id = :s_known_full), 874.19::numeric,
  'full_old_prorata_new: the old tariff''s whole 400 + 700 × 21/31');

-- Changes made after the period was paid, an end inside it.
call tests.as_superuser();
select crm.change_tariff(:s_later_both, :t700, '2025-03-11');
select crm.change_tariff(:s_later_full, :t700, '2025-03-11');
select crm.change_tariff(:s_cheaper, :t400, '2025-03-11');
select crm.change_tariff(:s_short, :t700, '2025-03-11');
select crm.end_service(:s_ended, '2025-03-21', 'moved away');
delete from bus.events where topic = 'provisioning';

call tests.as_staff('{billing}');
select is((select (renewed, amount, returned, blocked, unblocked)::text from billing.renew_prepaid('2025-03-11', :op)),
  '(2,677.41,345.16,1,0)', 'on 11 March two rests are paid, two periods give back, one service is short');
select is((select array_agg(kind || ' ' || amount order by id) from billing.credit_movements where service_id = :s_later_both),
  array['spend 400.00', 'spend 203.22'], 'prorata_both, changed later: the rest, 603.22 less the 400 paid');
select is((select array_agg(kind || ' ' || amount order by id) from billing.credit_movements where service_id = :s_later_full),
  array['spend 400.00', 'spend 474.19'], 'full_old_prorata_new, changed later: the new tariff''s 21 days');
select is((select array_agg(kind || ' ' || amount order by id) from billing.credit_movements where service_id = :s_cheaper),
  array['spend 700.00', 'return 203.22'], 'a cheaper tariff under prorata_both: 700 less 225.81 + 270.97 given back');
select is((select (free, total)::text from billing.credit_accounts where customer_id = :c_cheaper), '(4503.22,4503.22)',
  'the return is free credit again');
select is((select array_agg(kind || ' ' || amount || ' ' || covered order by id)
             from billing.credit_movements where service_id = :s_ended),
  array['spend 400.00 [2025-03-01,2025-04-01)', 'return 141.94 [2025-03-01,2025-03-21)'],
  'ended on the 21st: 20 of 31 days cost 258.06, the rest is given back');
select is((select (state, block_kind, block_reason)::text from crm.services where id = :s_short), '(blocked,system,credit)',
  'too little credit for the rest of the period: blocked for credit');
select is((select free from billing.credit_accounts where customer_id = :c_short), 50.00::numeric,
  'and nothing is taken from its 50');
select is((select count(*)::integer from bus.events where topic = 'provisioning' and entity = 'service:' || :s_short), 1,
  'the block told provisioning once');
select is((select array_agg(id order by id) from crm.services
            where id in (:s_known_both, :s_known_full, :s_later_both, :s_later_full, :s_cheaper) and state = 'active'),
  array[:s_known_both, :s_known_full, :s_later_both, :s_later_full, :s_cheaper]::bigint[], 'the others run on');

select is((select (renewed, amount, returned, blocked, unblocked)::text from billing.renew_prepaid('2025-03-11', :op)),
  '(0,0.00,0.00,0,0)', 'a second renewal settles nothing twice');

select * from finish();
rollback;
