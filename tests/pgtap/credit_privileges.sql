-- Who may do what with uniCredit: cash top-ups and certificate redemptions at the desk are
-- support's and billing's, and so are reservations and their release; spends, issuing
-- certificates and payments to credit are billing's; refunds billing's only; the renewal billing's
-- and the scheduler agent's. Administrators hold billing. Other roles neither act nor read, and a
-- role switched to without a signed-in user does nothing.
begin;
select plan(24);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset

call tests.as_staff('{technician}');
select throws_ok(format($$select billing.top_up_cash(%s, 100)$$, :cust), '42501', null, 'a technician cannot top up');
select throws_ok($$select count(*) from billing.credit_accounts$$, '42501', null, 'nor read the credit');
call tests.as_staff('{sales}');
select throws_ok(format($$select billing.top_up_cash(%s, 100)$$, :cust), '42501', null, 'sales cannot top up');
select throws_ok(format($$select billing.credit_history(%s)$$, :cust), '42501', null, 'nor read the history');
call tests.as_staff('{report}');
select throws_ok($$select count(*) from billing.credit_movements$$, '42501', null, 'report reads no movement');

call tests.as_staff('{support}');
select lives_ok(format($$select billing.top_up_cash(%s, 1000, 'receipt 1')$$, :cust), 'support tops up cash');
select lives_ok(format($$select billing.reserve_credit(%s, 100, 'modem')$$, :cust), 'support reserves');
select lives_ok(format($$select billing.release_reservation(max(id)) from billing.credit_reservations$$),
  'support releases a reservation');
select is((select count(*)::integer from billing.credit_history(:cust)), 3, 'support reads the history');
select throws_ok(format($$select billing.refund_credit(%s, 10)$$, :cust), '42501', null, 'support cannot refund');
select throws_ok(format($$select billing.spend_credit(%s, 10)$$, :cust), '42501', null, 'support cannot spend');
select throws_ok(format($$select billing.top_up_from_payment(%s, 10, 1)$$, :cust), '42501', null,
  'support does not pair payments to credit');
select throws_ok(format($$select billing.renew_prepaid(null, %s)$$, :op), '42501', null, 'support does not run the renewal');
select throws_ok($$select billing.issue_gift_certificate(1, 10, 'x', null, null, null)$$, '42501', null,
  'support does not issue certificates');

call tests.as_staff('{billing}');
select lives_ok(format($$select billing.spend_credit(%s, 10, 'cable')$$, :cust), 'billing spends');
select lives_ok(format($$select billing.refund_credit(%s, 10, 'cash back')$$, :cust), 'billing refunds');
select lives_ok(format($$select billing.top_up_from_payment(%s, 10, 424242)$$, :cust), 'billing pairs a payment to credit');
select lives_ok(format($$select billing.renew_prepaid(null, %s)$$, :op), 'billing runs the renewal');
call tests.as_staff('{admin}');
select lives_ok(format($$select billing.refund_credit(%s, 10)$$, :cust), 'an administrator refunds (admin holds billing)');

-- A role switched to without a session: the web client's login cannot act as billing on its own.
call tests.as_superuser();
set local role mango_as_billing;
select throws_ok(format($$select billing.refund_credit(%s, 10)$$, :cust), '42501',
  'a refund needs a signed-in user with the billing role', 'no session, no refund');
select throws_ok(format($$select billing.top_up_cash(%s, 10)$$, :cust), '42501',
  'a cash top-up needs a signed-in user with the billing or support role', 'no session, no top-up');

-- The scheduler agent renews and pairs payments, and does nothing else with credit.
call tests.as_superuser();
set local role mango_agent_scheduler;
select lives_ok(format($$select billing.renew_prepaid(null, %s)$$, :op), 'the scheduler runs the renewal');
select lives_ok(format($$select billing.top_up_from_payment(%s, 10, 434343)$$, :cust), 'and pairs a payment to credit');
select throws_ok(format($$select billing.refund_credit(%s, 10)$$, :cust), '42501', null, 'but refunds nothing');

select * from finish();
rollback;
