-- A block set by a person is never lifted by the credit automation (DUN-3): neither the renewal nor
-- a top-up unblocks it, and the renewal does not turn it into a credit block (nor fail on it).
begin;
select plan(8);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as eva \gset
select tests.make_tariff(400, :op) as tariff \gset
select tests.credit_service(:cust, :tariff) as svc \gset
select tests.credit_service(:eva, :tariff) as svc2 \gset

call tests.as_staff('{support}');
select crm.block_service(:svc, 'manual', 'fraud suspected');

call tests.as_staff('{billing}');
select lives_ok(format($$select billing.renew_prepaid(null, %s)$$, :op), 'the renewal runs past a manual block');
select is((select (state, block_kind, block_reason)::text from crm.services where id = :svc),
  '(blocked,manual,"fraud suspected")', 'the person''s block stays as it was, not a credit block');
select is((select (state, block_kind, block_reason)::text from crm.services where id = :svc2),
  '(blocked,system,credit)', 'the other customer''s service is blocked for credit');

call tests.as_staff('{support}');
select billing.top_up_cash(:cust, 400);
select is((select state || ' ' || block_kind from crm.services where id = :svc), 'blocked manual',
  'a top-up does not lift a person''s block');
select is((select count(*)::integer from billing.credit_movements where service_id = :svc and kind = 'spend'), 1,
  'the period is paid all the same (billing continues during a block)');

-- A person re-blocks a credit block: from then on it is theirs.
select crm.block_service(:svc2, 'manual', 'customer asked');
select billing.top_up_cash(:eva, 400);
select is((select (state, block_kind, block_reason)::text from crm.services where id = :svc2),
  '(blocked,manual,"customer asked")', 'a credit block a person took over is not lifted by a top-up');
call tests.as_staff('{billing}');
select is((select unblocked from billing.renew_prepaid(null, :op)), 0, 'nor by the renewal');
select lives_ok(format($$select crm.unblock_service(%s, 'manual')$$, :svc2), 'a person lifts it');

select * from finish();
rollback;
