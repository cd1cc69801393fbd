-- A refund pays money credit back from the free balance only: what reservations hold stays, and a
-- refund of more than the free balance is refused with a message that names it. Refunds are
-- billing's only.
begin;
select plan(8);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as nobody \gset

call tests.as_staff('{support}');
select billing.top_up_cash(:cust, 1000, 'receipt 7');
select billing.reserve_credit(:cust, 700, 'annual fee held');
select throws_ok(format($$select billing.refund_credit(%s, 100)$$, :cust),
  '42501', null, 'support cannot refund');

call tests.as_staff('{billing}');
select throws_ok(format($$select billing.refund_credit(%s, 300.01, 'cash back')$$, :cust),
  'MG861', 'the free credit is 300.00, less than the 300.01 to refund',
  'a refund of more than the free balance is refused, naming the free balance');
select throws_ok(format($$select billing.refund_credit(%s, 1000)$$, :cust),
  'MG861', 'the free credit is 300.00, less than the 1000.00 to refund', 'the reserved credit is not refundable');
select is((billing.refund_credit(:cust, 300, 'cash back')).free_delta, -300.00::numeric, 'the whole free balance is refunded');
select is((select (free, reserved, total)::text from billing.credit_accounts where customer_id = :cust),
  '(0.00,700.00,700.00)', 'the reservation stays');
select throws_ok(format($$select billing.refund_credit(%s, 0.01)$$, :cust),
  'MG861', 'the free credit is 0.00, less than the 0.01 to refund', 'nothing free, nothing to refund');
select throws_ok(format($$select billing.refund_credit(%s, 10)$$, :nobody),
  'MG861', 'the customer has no money credit to refund', 'a customer without credit has nothing to refund');

call tests.as_superuser();
select is((select count(*)::integer from billing.credit_movements m
             join billing.credit_accounts a on a.id = m.account_id
            where a.customer_id = :cust and m.kind = 'refund'), 1, 'one refund movement, the refused ones left none');

select * from finish();
rollback;
