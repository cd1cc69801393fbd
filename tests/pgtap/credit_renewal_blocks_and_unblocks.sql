-- UC-2: services on a prepaid-credit plan are renewed from credit when their period starts; a
-- running service whose customer has too little credit is blocked (system, reason 'credit'), and
-- a top-up that covers the price pays the period and unblocks it in the same transaction. Each
-- block and unblock goes through crm.block_service / crm.unblock_service: audited, and one
-- provisioning event on the bus. A second renewal pays nothing twice.
begin;
select plan(22);

select tests.make_operator() as op \gset
select tests.make_customer(:op, 'Novák', 'Jan') as rich \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as poor \gset
select tests.make_customer(:op, 'Dvořák', 'Petr') as none \gset
select tests.make_tariff(400, :op) as t400 \gset
select tests.make_tariff(700, :op) as t700 \gset
select date_trunc('month', crm.business_date(:op))::date as month_start \gset

call tests.as_staff('{billing}');
select billing.top_up_cash(:rich, 1000);
select billing.top_up_cash(:poor, 100);
call tests.as_superuser();
select tests.credit_service(:rich, :t400) as s_rich \gset
select tests.credit_service(:rich, :t700) as s_rich2 \gset
select tests.credit_service(:poor, :t400) as s_poor \gset
select tests.credit_service(:none, :t400) as s_none \gset
select tests.net_make_service(:rich, :t400) as s_invoiced \gset
select tests.service_trace(:s_poor) as before_poor \gset
delete from bus.events where topic = 'provisioning';

call tests.as_staff('{billing}');
select is((select (renewed, amount, blocked, unblocked)::text from billing.renew_prepaid(null, :op)),
  '(1,400.00,3,0)', 'one service renewed for 400, three blocked');
select is((select array_agg(id || ' ' || state || ' ' || coalesce(block_kind || '/' || block_reason, '-') order by id)
             from crm.services where id in (:s_rich, :s_rich2, :s_poor, :s_none, :s_invoiced)),
  array[:s_rich || ' active -', :s_rich2 || ' blocked system/credit', :s_poor || ' blocked system/credit',
        :s_none || ' blocked system/credit', :s_invoiced || ' active -'],
  'paid in service order while the credit lasts; the rest blocked for credit; a service on an invoice plan untouched');
select is((select (free, total)::text from billing.credit_accounts where customer_id = :rich), '(600.00,600.00)',
  'the renewal took 400 from the free credit');
select is((select (kind, amount, period)::text from billing.credit_movements where service_id = :s_rich),
  format('(spend,400.00,"[%s,%s)")', :'month_start', (:'month_start'::date + interval '1 month')::date),
  'the spend names the service and its period');

-- The block went through crm.block_service: audited with the user, one event for provisioning.
select is((select count(*)::integer from bus.events where topic = 'provisioning'
            and entity in ('service:' || :s_rich2, 'service:' || :s_poor, 'service:' || :s_none)), 3,
  'one provisioning event per blocked service');
select is((select count(*)::integer from bus.events where topic = 'provisioning' and entity = 'service:' || :s_rich), 0,
  'a renewed service that runs on tells provisioning nothing');
call tests.as_superuser();
select is(
  (select (new_values ->> 'state', new_values ->> 'block_reason', db_role, user_id is not null)::text
     from tests.my_audit('crm.services') where record_id = :'s_poor' and operation = 'update'),
  '(blocked,credit,mango_as_billing,t)', 'the block is audited under the billing user who ran the renewal');

call tests.as_staff('{billing}');
select is((select (renewed, amount, blocked, unblocked)::text from billing.renew_prepaid(null, :op)),
  '(0,0.00,0,0)', 'a second renewal the same day pays nothing twice and changes nothing');

-- A top-up that does not cover the price leaves the block; one that does pays and unblocks.
call tests.as_superuser();
select (tests.service_trace(:s_poor)).revision as rev \gset
call tests.as_staff('{support}');
select billing.top_up_cash(:poor, 250, 'receipt 12');
select is((select state from crm.services where id = :s_poor), 'blocked', '350 do not cover 400: still blocked');
select is((select free from billing.credit_accounts where customer_id = :poor), 350.00::numeric, 'nothing was spent');
select billing.top_up_cash(:poor, 50, 'receipt 13');
select is((select (state, block_kind)::text from crm.services where id = :s_poor), '(active,)',
  'the top-up that covers the price unblocks the service at once');
select is((select (free, total)::text from billing.credit_accounts where customer_id = :poor), '(0.00,0.00)',
  'and pays its period from the credit');
select is((select array_agg(kind || ' ' || amount order by id) from billing.credit_movements
            where account_id = (select id from billing.credit_accounts where customer_id = :poor)),
  array['top_up 100.00', 'top_up 250.00', 'top_up 50.00', 'spend 400.00'], 'the movements in order');
call tests.as_superuser();
select is((tests.service_trace(:s_poor)).bus_rows, 1, 'the unblock leaves one provisioning event for the service');
select cmp_ok((tests.service_trace(:s_poor)).revision, '>', :rev, 'whose revision counts the unblock');
select is(
  (select array_agg(new_values ->> 'state' || ' ' || db_role order by id) from tests.my_audit('crm.services')
    where record_id = :'s_poor' and operation = 'update'),
  array['blocked mango_as_billing', 'active mango_as_support'], 'block and unblock are both audited, with who');

-- The rich customer's second service: 600 free do not cover 700; a top-up of 100 does.
call tests.as_staff('{billing}');
select is((billing.top_up_from_payment(:rich, 100, 987654, 'VS 123')).source, 'payment', 'a bank payment to credit');
select is((select state from crm.services where id = :s_rich2), 'active', 'it paid the second service and unblocked it');
select is((billing.top_up_from_payment(:rich, 100, 987654)).amount, 100.00::numeric,
  'the same payment again returns its top-up');
select is((select (free, total)::text from billing.credit_accounts where customer_id = :rich), '(0.00,0.00)',
  'and credits nothing twice');

-- A system block for another reason is not the credit's to lift.
call tests.as_superuser();
-- (as dunning would block it: a system block with another reason)
update crm.services set block_reason = 'debt' where id = :s_none;
call tests.as_staff('{support}');
select billing.top_up_cash(:none, 400);
select is((select (state, block_reason)::text from crm.services where id = :s_none), '(blocked,debt)',
  'a top-up lifts only credit blocks');
select is((select count(*)::integer from billing.credit_movements where service_id = :s_none), 1,
  'though the period is paid from the credit (billing continues during a block)');

select * from finish();
rollback;
