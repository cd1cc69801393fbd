-- A gift certificate (donor, recipient, value, validity) is redeemed once, within its validity, by
-- its recipient customer when it names one; who redeemed it and when is kept.
begin;
select plan(12);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as other \gset
select crm.business_date(:op) as today \gset

call tests.as_staff('{support}');
select throws_ok(format($$select billing.issue_gift_certificate(%s, 500, 'Babička', 'Jan', null, null)$$, :op),
  '42501', null, 'support does not issue certificates');

call tests.as_staff('{billing}');
select billing.issue_gift_certificate(:op, 500, 'Babička Nováková', 'Jan Novák', null, :'today'::date + 30,
                                      '{"code": "GIFT-2026-001"}');
select is((select (value, donor, recipient, lower(valid), upper(valid))::text from billing.gift_certificates
            where code = 'GIFT-2026-001'),
  format('(500.00,"Babička Nováková","Jan Novák",%s,%s)', :'today', :'today'::date + 31),
  'the certificate keeps its value, donor, recipient and validity (from today to the day given)');
select throws_ok(format($$select billing.issue_gift_certificate(%s, 100, 'X', null, null, null, '{"code": "GIFT-2026-001"}')$$, :op),
  'MG860', 'gift certificate GIFT-2026-001 exists already', 'a code is used once per operator');
select billing.issue_gift_certificate(:op, 200, 'Firma s.r.o.', 'Eva', :'today'::date - 60, :'today'::date - 1,
                                      '{"code": "OLD-1"}');
select billing.issue_gift_certificate(:op, 300, 'Teta', 'Eva', null, null,
                                      format('{"code": "FOR-EVA", "recipient_customer_id": %s}', :other)::jsonb);
select ok((select length(code) = 12 from billing.issue_gift_certificate(:op, 50, 'Shop', null, null, null)),
  'without a code the certificate gets a random one');

call tests.as_staff('{support}');
select is((billing.redeem_gift_certificate(:cust, ' gift-2026-001 ')).amount, 500.00::numeric,
  'support redeems it at the desk (the code as typed)');
select is((select free from billing.credit_accounts where customer_id = :cust and kind = 'money'), 500.00::numeric,
  'its value is free credit');
select throws_ok(format($$select billing.redeem_gift_certificate(%s, 'GIFT-2026-001')$$, :other),
  'MG862', format('gift certificate GIFT-2026-001 was redeemed on %s', :'today'), 'a certificate is redeemed once');
select throws_ok(format($$select billing.redeem_gift_certificate(%s, 'GIFT-2026-001')$$, :cust),
  'MG862', format('gift certificate GIFT-2026-001 was redeemed on %s', :'today'), 'not twice by the same customer either');
select throws_ok(format($$select billing.redeem_gift_certificate(%s, 'OLD-1')$$, :cust),
  'MG862', format('gift certificate OLD-1 is valid from %s to %s', :'today'::date - 60, :'today'::date - 1),
  'an expired certificate is refused');
select throws_ok(format($$select billing.redeem_gift_certificate(%s, 'FOR-EVA')$$, :cust),
  'MG862', 'gift certificate FOR-EVA is for another customer', 'a certificate for a named customer is theirs');
select throws_ok(format($$select billing.redeem_gift_certificate(%s, 'NO-SUCH')$$, :cust),
  'MG862', 'there is no gift certificate NO-SUCH', 'an unknown code is named');

call tests.as_superuser();
select is(
  (select (g.redeemed_customer_id = :cust, g.redeemed_by = u.id, g.redeemed_at is not null,
           m.certificate_id = g.id, m.source)::text
     from billing.gift_certificates g
     join billing.credit_movements m on m.certificate_id = g.id
     join auth.users u on u.username = 'test_support'
    where g.code = 'GIFT-2026-001'),
  '(t,t,t,t,certificate)', 'who redeemed it, for whom and when is kept, and the top-up names it'
);

select * from finish();
rollback;
