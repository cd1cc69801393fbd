-- TV pay-per-view purchases: billing records them on a TV service (billing.add_ppv_purchase; the
-- same platform order twice is one purchase), each becomes a usage line 'ppv:<id>' in the period
-- of its business date (the operator's zone), in the price mode of the service's product.
begin;
select plan(9);

select tests.make_operator() as op \gset
select tests.make_tariff(199, :op) as tv \gset
select tests.make_customer(:op) as cu \gset
select crm.activate_service(:cu, :tv, '2026-01-01', null, '{"state": "active"}') as s_tv \gset
select crm.activate_service(:cu, :tv, '2026-11-20', null, '{"state": "active"}') as s_new \gset

call tests.as_staff('{billing}');
select billing.add_ppv_purchase(:s_tv, 'Pelíšky', '2026-11-14 20:15+01', 79, 'ORD-1') as film \gset
select is(billing.add_ppv_purchase(:s_tv, 'Pelíšky', '2026-11-14 20:15+01', 79, 'ORD-1'), :film::bigint,
  'the same order reported again is the same purchase');
-- 30 November 23:30 in Prague is 22:30 UTC: still November; 1 December 00:30 is not.
select billing.add_ppv_purchase(:s_tv, 'Hokej: Kometa – Sparta', '2026-11-30 22:30+00', 99.5, 'ORD-2') as match \gset
select billing.add_ppv_purchase(:s_tv, 'Silvestr', '2026-11-30 23:30+00', 49, 'ORD-3') as december \gset
select throws_ok(format('select billing.add_ppv_purchase(%s, ''Kolja'', ''2026-11-10 20:00+01'', 59)', :s_new),
  'MG858', null, 'not on a day the service did not run');
select throws_ok(format('select billing.add_ppv_purchase(%s, '' '', ''2026-11-10 20:00+01'', 59)', :s_tv),
  'MG858', null, 'not without a title');

call tests.as_superuser();
create temporary table u (service_id bigint, key text, description text, quantity numeric, unit text, amount numeric,
                          price_mode text, vat_class text, covered daterange);
grant insert, select on u to public;
call tests.as_staff('{billing}');
insert into u select * from billing.usage_charges(:op, '[2026-11-01,2026-12-01)') where key like 'ppv:%';

select is((select count(*)::integer from u), 2, 'two purchases in November');
select is((select (description, quantity, unit, amount, price_mode, vat_class, covered)::text
             from u where key = 'ppv:' || :film),
  '("Pay-per-view: Pelíšky (14. 11. 2026 20:15)",1,ks,79.00,with_vat,standard,"[2026-11-14,2026-11-15)")',
  'a line per purchase: title, local time, price');
select is((select (amount, covered)::text from u where key = 'ppv:' || :match), '(99.50,"[2026-11-30,2026-12-01)")',
  '23:30 on 30 November (Prague) is November''s');
select is((select count(*)::integer from u where key = 'ppv:' || :december), 0, '00:30 on 1 December is not');
select is((select key from billing.usage_charges(:op, '[2026-12-01,2027-01-01)') where key like 'ppv:%'),
  'ppv:' || :december, 'it is December''s');

call tests.as_staff('{support}');
select throws_ok(format('select billing.add_ppv_purchase(%s, ''Kolja'', ''2026-11-10 20:00+01'', 59)', :s_tv),
  '42501', null, 'support cannot record a purchase');

select * from finish();
rollback;
