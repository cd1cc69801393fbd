-- Documents as data (BIL-4): the VAT recap per rate and the rounding line (§ 37, non-cash: the
-- rounding to whole crowns is part of the price, a line of its own at the document's highest rate,
-- its tax from above) for mixed rates of 2025 (21 % and 12 %) and of a 2023 tax point (21/15/10 %),
-- the worked example of czech-formats.md §4.3; a credit note of a 2023 invoice keeps the 2023
-- rates; a non-VAT-payer operator; reverse charge; a service billed separately; a parent account
-- that pays for its branch; a payment request and its tax document on payment; an advance invoice.
begin;
select plan(24);

select tests.billing_operator() as op \gset
select tests.make_tariff(500, :op) as std500 \gset
select tests.make_tariff(199.90, :op, 'with_vat', 'reduced') as red \gset
select tests.make_tariff(100, :op, 'with_vat', 'reduced') as red100 \gset
select tests.make_tariff(50.40, :op, 'with_vat', 'second_reduced') as sec \gset
select tests.make_tariff(1234.50, :op, 'without_vat') as net \gset
select tests.billing_plan(:op, '{"reverse_charge": true}') as rc_plan \gset
select tests.billing_plan(:op, '{"fixed_document": "payment_request", "usage_document": "payment_request", "tax_point_rule": "payment_day"}') as pr_plan \gset

select tests.make_customer(:op, 'Mixed', 'Rates') as mixed \gset
select crm.activate_service(:mixed, :std500, '2024-01-01', null, '{"state": "active"}') is not null as x \gset
select crm.activate_service(:mixed, :red, '2024-01-01', null, '{"state": "active"}') is not null as x \gset
select tests.make_customer(:op, 'Old', 'Rates') as old \gset
select count(crm.activate_service(:old, t, '2023-06-01', null, '{"state": "active"}')) as x
  from unnest(array[:std500, :red100, :sec]::bigint[]) t \gset
select count(crm.end_service(s.id, '2023-07-01', 'test')) as x
  from crm.services s where s.customer_id = :old \gset
select tests.make_customer(:op, 'Worked', 'Example', '2020-01-01', 'Example s.r.o.') as worked \gset
select crm.activate_service(:worked, :net, '2024-01-01', null, '{"state": "active"}') is not null as x \gset
select tests.make_customer(:op, 'Reverse', 'Charge', '2020-01-01', 'Telco a.s.') as rc \gset
select count(crm.activate_service(:rc, t, '2024-01-01', null,
                                  jsonb_build_object('state', 'active', 'billing_plan_id', :rc_plan))) as x
  from unnest(array[:std500, :net]::bigint[]) t \gset
select tests.make_customer(:op, 'Separate', 'Bill') as sep \gset
select crm.activate_service(:sep, :std500, '2024-01-01', null, '{"state": "active"}') as sep_a \gset
select crm.activate_service(:sep, :std500, '2024-01-01', null, '{"state": "active", "bill_separately": true}')
  as sep_b \gset
select tests.make_customer(:op, 'Parent', 'Company', '2020-01-01', 'Parent a.s.') as parent \gset
select tests.make_customer(:op, 'Branch', 'Office', '2020-01-01', 'Parent a.s., pobočka Brno') as branch \gset
update crm.customers set parent_id = :parent where id = :branch;
select crm.activate_service(:branch, :std500, '2024-01-01', null, '{"state": "active"}') as branch_s \gset
select tests.make_customer(:op, 'Pays', 'Later') as payer \gset
select crm.activate_service(:payer, :std500, '2024-01-01', null, jsonb_build_object('state', 'active',
  'billing_plan_id', :pr_plan)) is not null as x \gset

call tests.as_staff('{billing}');
select (billing.run(:op, '2025-03') ->> 'run')::bigint as run25 \gset
select (billing.run(:op, '2023-06') ->> 'run')::bigint as run23 \gset
call tests.as_superuser();

-- Mixed rates: 500.00 at 21 % (tax from above 86.78) and 199.90 at 12 % (21.42); 699.90 rounds up
-- by 0.10, taxed at 21 % from above: 0.02 of tax, 0.08 of base.
select is((select string_agg(format('%s: %s + %s', vat_rate, base, vat), '; ' order by vat_rate)
             from billing.document_vat v join billing.documents d on d.id = v.document_id where d.customer_id = :mixed),
  '12.00: 178.48 + 21.42; 21.00: 413.30 + 86.80', 'mixed rates: one recap row per rate, the rounding in the 21 % row');
select is((select (total_without_vat, total_vat, total_with_vat, rounding, amount_due)::text
             from billing.documents where customer_id = :mixed),
  '(591.78,108.22,700.00,0.10,700.00)', 'the total is whole crowns, the rounding 0.10');
select is((select (line_kind, description, price_mode, vat_rate, amount_without_vat, amount_with_vat)::text
             from billing.document_lines l join billing.documents d on d.id = l.document_id
            where d.customer_id = :mixed and l.line_kind = 'rounding'),
  '(rounding,Zaokrouhlení,with_vat,21.00,0.08,0.10)', 'the rounding is a line of its own, taxed like the price');

-- A 2023 tax point: 21, 15 and 10 %; 650.40 rounds down by 0.40 (tax -0.07, base -0.33).
select is((select string_agg(format('%s: %s + %s', vat_rate, base, vat), '; ' order by vat_rate)
             from billing.document_vat v join billing.documents d on d.id = v.document_id where d.run_id = :run23),
  '10.00: 45.82 + 4.58; 15.00: 86.96 + 13.04; 21.00: 412.89 + 86.71', 'a 2023 tax point: the rates of 2023');
select is((select (tax_point, total_with_vat, rounding)::text from billing.documents where run_id = :run23),
  '(2023-06-30,650.00,-0.40)', 'taxed on the last day of the period, rounded to 650.00');

-- czech-formats.md §4.3: base 1 234,50 at 21 % is 259,25 of tax, 1 493,75; rounded by +0,25 with
-- VAT, the rounding's tax from above is 0,04 and its base 0,21: 1 234,71 + 259,29 = 1 494,00.
select is((select (amount_without_vat, amount_with_vat)::text from billing.document_lines l
             join billing.documents d on d.id = l.document_id where d.customer_id = :worked and l.line_kind = 'charge'),
  '(1234.50,1493.75)', '§4.3: the line is 1 234,50 + 259,25 = 1 493,75');
select is((select (amount_without_vat, amount_with_vat)::text from billing.document_lines l
             join billing.documents d on d.id = l.document_id where d.customer_id = :worked and l.line_kind = 'rounding'),
  '(0.21,0.25)', '§4.3: the rounding +0,25 is 0,21 of base and 0,04 of tax');
select is((select format('%s + %s = %s', base, vat, total) from billing.document_vat v
             join billing.documents d on d.id = v.document_id where d.customer_id = :worked),
  '1234.71 + 259.29 = 1494.00', '§4.3: the recap is 1 234,71 + 259,29 = 1 494,00');

-- Reverse charge: the bases, no VAT; the rounding is a base too.
select is((select (reverse_charge, tax_document, total_without_vat, total_vat, rounding, amount_due)::text
             from billing.documents where customer_id = :rc),
  '(t,t,1648.00,0.00,0.28,1648.00)', 'reverse charge: 413.22 + 1 234.50, no VAT, rounded by its base');
select is((select string_agg(format('%s: %s + %s', vat_rate, base, vat), '; ') from billing.document_vat v
             join billing.documents d on d.id = v.document_id where d.customer_id = :rc),
  '21.00: 1648.00 + 0.00', 'the recap shows the rate and the base with no tax (the customer pays the VAT)');

-- A service billed separately has a document of its own; a branch's services are on its parent's.
select is((select string_agg(coalesce(d.service_id = :sep_b, false)::text || ':' ||
                             (select string_agg(c.service_id::text, ',') from billing.document_lines l
                                join billing.charges c on c.id = l.charge_id where l.document_id = d.id), ' '
                             order by d.service_id nulls first)
             from billing.documents d where d.customer_id = :sep),
  format('false:%s true:%s', :sep_a, :sep_b), 'bill_separately: the service has its own document');
select is((select (d.customer_id, d.customer_name, c.customer_id)::text from billing.documents d
             join billing.document_lines l on l.document_id = d.id join billing.charges c on c.id = l.charge_id
            where c.service_id = :branch_s),
  format('(%s,"Parent a.s.",%s)', :parent, :branch), 'the parent account pays for its branch''s service');
select is((select count(*)::integer from billing.documents where customer_id = :branch), 0,
  'the branch gets no document of its own');

-- Issue the 2023 run's invoice; a credit note of it keeps the 2023 rates.
call tests.as_staff('{billing}');
select billing.issue_run(:run23) is not null as x \gset
select billing.credit_note((select id from billing.documents where run_id = :run23), 'Chybně účtované služby')
  as credit \gset
call tests.as_superuser();
select is((select string_agg(format('%s: %s + %s', vat_rate, base, vat), '; ' order by vat_rate)
             from billing.document_vat where document_id = :credit),
  '10.00: -45.82 + -4.58; 15.00: -86.96 + -13.04; 21.00: -412.89 + -86.71',
  'a credit note of a 2023 invoice keeps the 2023 rates and is its exact negative');
select is((select (d.kind, d.state, d.number ~ '^DB\d{9}$', d.original_id = o.id, d.reason, d.total_with_vat,
                   d.amount_due, d.tax_point = crm.business_date(d.operator_id))::text
             from billing.documents d join billing.documents o on o.run_id = :run23 where d.id = :credit),
  '(credit_note,issued,t,t,"Chybně účtované služby",-650.00,-650.00,t)',
  'the credit note refers to the original, says why, is numbered from its series and taxed today');
select is((select count(*)::integer from billing.charges c join billing.document_lines l on l.charge_id = c.id
            where l.document_id = :credit and c.corrects_id is not null and c.vat_rate in (21, 15, 10)), 3,
  'each credited charge gets a correction of the opposite amount at its rate');
call tests.as_staff('{billing}');
select throws_ok(format('select billing.credit_note(%s, %L)', (select original_id from billing.documents
                                                                 where id = :credit), 'again'),
  'MG047', NULL, 'a document credited in full cannot be credited again');
call tests.as_superuser();

-- A payment request (not a tax document), then its tax document on the day it is paid.
call tests.as_staff('{billing}');
select billing.issue_run(:run25) is not null as x \gset
select billing.settle_request((select id from billing.documents where customer_id = :payer), crm.business_date(:op))
  as paid \gset
call tests.as_superuser();
select is((select (kind, tax_document, number ~ '^VP', tax_point, amount_due)::text from billing.documents
            where customer_id = :payer and kind = 'payment_request'),
  '(payment_request,f,t,,500.00)', 'a payment request is no tax document and has no tax point');
select is((select (d.kind, d.tax_document, d.number ~ '^FV', d.request_id = r.id, d.paid_on = crm.business_date(:op),
                   d.tax_point = d.paid_on, d.total_with_vat, d.amount_due)::text
             from billing.documents d join billing.documents r on r.customer_id = :payer and r.kind = 'payment_request'
            where d.id = :paid),
  '(invoice,t,t,t,t,t,500.00,0.00)',
  'paid: the tax document of the payment, taxed on the day it arrived, asking for nothing more');
call tests.as_staff('{billing}');
select throws_ok(format('select billing.settle_request(%s, %L)', (select request_id from billing.documents
                                                                    where id = :paid), crm.business_date(:op)),
  'MG048', NULL, 'a request is settled once');

-- An advance invoice: the tax document of an advance received, its tax from above, nothing due.
select billing.advance_invoice(:mixed, 1000, '2025-03-05') as adv \gset
call tests.as_superuser();
select is((select (kind, state, number ~ '^ZF', tax_point, total_without_vat, total_vat, rounding, amount_due)::text
             from billing.documents where id = :adv),
  '(advance_invoice,issued,t,2025-03-05,826.45,173.55,0.00,0.00)', 'an advance invoice of 1 000 with VAT at 21 %');

-- An operator that is not a VAT payer: no tax documents, no rates, no recap.
select tests.billing_operator(null, false) as novat \gset
select tests.make_tariff(500, :novat) as nv500 \gset
select tests.make_tariff(1234.50, :novat, 'without_vat') as nvnet \gset
select tests.make_customer(:novat, 'Small', 'Town') as small \gset
select count(crm.activate_service(:small, t, '2024-01-01', null, '{"state": "active"}')) as x
  from unnest(array[:nv500, :nvnet]::bigint[]) t \gset
call tests.as_staff('{billing}');
select (billing.run(:novat, '2025-03') ->> 'run')::bigint as run_nv \gset
call tests.as_superuser();
select is((select (tax_document, supplier_vat_payer, total_without_vat, total_vat, total_with_vat, rounding)::text
             from billing.documents where run_id = :run_nv),
  '(f,f,1735.00,0.00,1735.00,0.50)', 'a non-VAT payer: 500 + 1 234.50 as they are, no VAT, rounded to 1 735');
select is((select count(*)::integer from billing.document_vat v join billing.documents d on d.id = v.document_id
            where d.run_id = :run_nv), 0, 'and no VAT recap');
select is((select count(*)::integer from billing.document_lines l join billing.documents d on d.id = l.document_id
            where d.run_id = :run_nv and l.vat_rate is not null), 0, 'its lines carry no rate');

select * from finish();
rollback;
