-- uniCredit balances (UC-1): the free balance (volné) is what may be spent, reserved or refunded,
-- the total (zůstatek) the free balance and the reservations; every change is a movement, the
-- history shows the balances after each, and an account always holds the sums of its movements.
begin;
select plan(24);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset

call tests.as_staff('{support}');
select is((billing.top_up_cash(:cust, 500, 'receipt 1')).amount, 500.00::numeric, 'support tops up 500 in cash');
select is((select (free, reserved, total)::text from billing.credit_accounts where customer_id = :cust),
  '(500.00,0.00,500.00)', 'the account opened with 500 free and 500 in total');
select is((billing.reserve_credit(:cust, 120.50, 'router for the new flat')).state, 'held', 'support reserves 120.50');
select is((select (free, reserved, total)::text from billing.credit_accounts where customer_id = :cust),
  '(379.50,120.50,500.00)', 'a reservation leaves the free balance and keeps the total');
select throws_ok(format($$select billing.reserve_credit(%s, 400, 'a television')$$, :cust),
  'MG861', 'the free credit is 379.50, less than the 400.00 to reserve',
  'a reservation cannot take more than the free balance');
select id as res from billing.credit_reservations
 where account_id = (select id from billing.credit_accounts where customer_id = :cust) \gset

call tests.as_staff('{billing}');
select is((billing.spend_credit(:cust, 79.50, 'cable')).free_delta, -79.50::numeric, 'billing spends 79.50 from free');
select is((select (free, reserved, total)::text from billing.credit_accounts where customer_id = :cust),
  '(300.00,120.50,420.50)', 'a spend lowers the free balance and the total');
select is((billing.spend_reservation(:res, 'router delivered')).reserved_delta, -120.50::numeric,
  'spending the reservation takes the reserved amount');
select is((select (free, reserved, total)::text from billing.credit_accounts where customer_id = :cust),
  '(300.00,0.00,300.00)', 'the reserved amount has left the account');
select throws_ok(format($$select billing.release_reservation(%s)$$, :res),
  'MG863', format('reservation %s is spent already', :res), 'a spent reservation cannot be released');
select is((billing.reserve_credit(:cust, 50, 'set-top box')).amount, 50.00::numeric, 'another reservation');
select id as res2 from billing.credit_reservations where state = 'held'
   and account_id = (select id from billing.credit_accounts where customer_id = :cust) \gset
select is((billing.release_reservation(:res2)).free_delta, 50.00::numeric, 'releasing gives it back to free');
select is((select (free, reserved, total)::text from billing.credit_accounts where customer_id = :cust),
  '(300.00,0.00,300.00)', 'after the release the free balance is whole again');
select throws_ok(format($$select billing.spend_credit(%s, 300.01)$$, :cust),
  'MG861', 'the free credit is 300.00, less than the 300.01 to spend', 'a spend cannot overdraw the free balance');

-- Bad amounts are named.
select throws_ok(format($$select billing.top_up_cash(%s, 10.005)$$, :cust),
  'MG860', 'an amount has at most two decimal places, not 10.005', 'haléře only');
select throws_ok(format($$select billing.top_up_cash(%s, 'NaN')$$, :cust),
  'MG860', 'an amount of credit is more than 0 and less than 1 000 000 000, not NaN', 'NaN refused');
select throws_ok(format($$select billing.top_up_cash(%s, -5)$$, :cust),
  'MG860', 'an amount of credit is more than 0 and less than 1 000 000 000, not -5', 'a negative top-up refused');

-- The history: every movement with the balances after it.
select is(
  (select array_agg(kind || ' ' || amount || ' -> ' || free_after || '/' || total_after order by movement_id)
     from billing.credit_history(:cust)),
  array['top_up 500.00 -> 500.00/500.00', 'reserve 120.50 -> 379.50/500.00', 'spend 79.50 -> 300.00/420.50',
        'spend 120.50 -> 300.00/300.00', 'reserve 50.00 -> 250.00/300.00', 'release 50.00 -> 300.00/300.00'],
  'the history shows each movement and the free and total balance after it'
);
select is((select array_agg(db_role || ' ' || (created_by is not null) order by movement_id)
             from billing.credit_history(:cust)),
  array['mango_as_support true', 'mango_as_support true', 'mango_as_billing true', 'mango_as_billing true',
        'mango_as_billing true', 'mango_as_billing true'],
  'the history says who: the user and the role of each movement');

-- Points are whole numbers and have an account of their own.
call tests.as_superuser();
select tests.make_customer(:op, 'Dvořák', 'Petr') as other \gset
call tests.as_staff('{billing}');
select (billing.issue_gift_certificate(:op, 100, 'Loyalty programme', null, null, null,
                                       '{"kind": "points", "code": "PTS-0001"}')).id as cert \gset
select is((billing.redeem_gift_certificate(:other, 'pts-0001')).amount, 100.00::numeric, 'points redeemed');
select throws_ok(format($$select billing.spend_credit(%s, 1.5, null, null, null, 'points')$$, :other),
  'MG860', 'points are whole numbers, not 1.5', 'points are whole');
select is((select array_agg(kind || ' ' || free order by kind) from billing.credit_accounts where customer_id = :other),
  array['points 100.00'], 'a points account of its own, no money account');

-- The balances are kept with their movements: a movement without its balance change is refused.
call tests.as_superuser();
select throws_ok(
  format($$insert into billing.credit_movements (account_id, kind, amount, source, db_role)
           select id, 'top_up', 1, 'cash', 'test' from billing.credit_accounts where customer_id = %s and kind = 'money'$$,
         :cust),
  'MG864', null, 'a movement that the balance does not follow is refused (even for the owner)'
);
select throws_ok(
  format($$update billing.credit_movements set amount = 1
            where account_id = (select id from billing.credit_accounts where customer_id = %s and kind = 'money')$$, :cust),
  'MG864', 'credit movements are never changed or deleted: a correction is a new movement',
  'movements are never changed'
);

select * from finish();
rollback;
