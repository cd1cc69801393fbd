-- Each call's price is rounded to the haléř once, half away from zero: round(connection fee +
-- price per minute × charged seconds / 60, 2) after the billing increments (60/60, 60/1, 30/30,
-- 1/1). The summary line of a service's calls is the sum of those prices; the billing run puts it
-- on the invoice as one line, and the calls stay listed for it (billing.charge_calls,
-- billing.document_calls). A second run charges nothing again, and rating the period again after
-- a price change keeps what the invoice billed.
begin;
select plan(16);

select tests.make_operator() as op \gset
select tests.make_rate_table(:op) as std \gset
-- Slovak mobiles at 0.03 a minute by the second: 10 s cost 0.005, rounded up to 0.01.
update billing.rates r set price_per_minute = 0.03, first_increment = 1, next_increment = 1
  from billing.destinations d where d.id = r.destination_id and d.rate_table_id = :std and d.prefix = '42190';
select tests.make_usage_tariff(:op) as tariff \gset
select tests.make_customer(:op) as cu \gset
select tests.make_voice_service(:cu, :tariff, '+420532100001') as s1 \gset

-- Monday 2 November 2026 from 10:00 (peak).
create temporary table c (name text primary key, id bigint);
insert into c values
  ('uk 61 s', tests.make_call(:op, '532100001', '00441632960123', '2026-11-02 10:00', 61)),
  ('uk 1 s a', tests.make_call(:op, '532100001', '00441632960124', '2026-11-02 10:10', 1)),
  ('uk 1 s b', tests.make_call(:op, '532100001', '00441632960125', '2026-11-02 10:11', 1)),
  ('uk 1 s c', tests.make_call(:op, '532100001', '00441632960126', '2026-11-02 10:12', 1)),
  ('at 61 s', tests.make_call(:op, '532100001', '00436641234567', '2026-11-02 10:20', 61)),
  ('at 30 s', tests.make_call(:op, '532100001', '00436641234568', '2026-11-02 10:30', 30)),
  ('de 31 s', tests.make_call(:op, '532100001', '0049301234567', '2026-11-02 10:40', 31)),
  ('premium 7 s', tests.make_call(:op, '532100001', '900123456', '2026-11-02 10:50', 7)),
  ('sk 10 s', tests.make_call(:op, '532100001', '00421905123456', '2026-11-02 11:00', 10)),
  ('sk 30 s', tests.make_call(:op, '532100001', '00421905123457', '2026-11-02 11:10', 30)),
  ('no answer', tests.make_call(:op, '532100001', '602123456', '2026-11-02 11:20', 0, 'NO ANSWER'));

call tests.as_staff('{billing}');
select is((select (rated, not_billable, amount)::text from billing.rate_calls(:op, '[2026-11-01,2026-12-01)')),
  '(10,1,25.41)', 'ten calls rated, one not billable; 25.41 in all');
call tests.as_superuser();
create temporary view priced as
select c.name, r.charged_seconds, r.price from c join billing.rated_calls r on r.call_id = c.id;

select is((select (charged_seconds, price)::text from priced where name = 'uk 61 s'), '(61,4.07)',
  'UK 4.00 by the second, 61 s: 4.0667 → 4.07');
select is((select string_agg(price::text, ' ' order by name) from priced where name like 'uk 1 s%'),
  '0.07 0.07 0.07', 'UK, 1 s: 0.0667 → 0.07 each (each call rounded, not the sum)');
select is((select (charged_seconds, price)::text from priced where name = 'at 61 s'), '(61,6.10)',
  'Austria 6.00, 60/1, 61 s: a minute and a second = 6.10');
select is((select (charged_seconds, price)::text from priced where name = 'at 30 s'), '(60,6.00)',
  'Austria, 30 s: the first minute whole = 6.00');
select is((select (charged_seconds, price)::text from priced where name = 'de 31 s'), '(60,5.50)',
  'Germany 5.50, 30/30, 31 s: two half minutes = 5.50');
select is((select (charged_seconds, price)::text from priced where name = 'premium 7 s'), '(7,3.50)',
  'premium 30.00 by the second, 7 s = 3.50');
select is((select (charged_seconds, price)::text from priced where name = 'sk 10 s'), '(10,0.01)',
  '0.03 a minute, 10 s: 0.005 rounds half away from zero to 0.01');
select is((select (charged_seconds, price)::text from priced where name = 'sk 30 s'), '(30,0.02)',
  '0.03 a minute, 30 s: 0.015 → 0.02');
select is((select (charged_seconds, price)::text from priced where name = 'no answer'), '(0,0.00)',
  'an unanswered call costs nothing');

-- The billing run of December bills November's usage (the default plan: in arrears).
call tests.as_staff('{billing}');
select billing.run(:op, '2026-12') is not null as ran \gset
call tests.as_superuser();
select id as charge from billing.charges where service_id = :s1 and kind = 'usage' and key = 'calls' \gset
select is((select (period, description, amount_with_vat, amount_without_vat)::text from billing.charges
            where id = :charge),
  '("[2026-11-01,2026-12-01)","Hovory 11/2026: 10, zpoplatněno 4,9 min",25.41,21.00)',
  'one usage charge for the calls: the sum of their prices (with VAT), 21 % derived');
select is((select (l.description, l.amount_with_vat)::text from billing.document_lines l where l.charge_id = :charge),
  '("Hovory 11/2026: 10, zpoplatněno 4,9 min",25.41)', 'the invoice has it as one line');
select is((select count(*)::integer from billing.charge_calls(:charge)), 10, 'the charge lists its ten calls');
select is((select sum(price) from billing.document_calls(
             (select l.document_id from billing.document_lines l where l.charge_id = :charge))),
  25.41::numeric, 'the document''s call list adds up to its line');

call tests.as_staff('{billing}');
select billing.run(:op, '2026-12') is not null as again \gset
call tests.as_superuser();
select is((select count(*)::integer from billing.charges where service_id = :s1 and kind = 'usage'), 1,
  'a second run charges the calls not again');

-- The price of UK calls goes up; rating November again keeps what the invoice billed.
update billing.rates r set price_per_minute = 8.00
  from billing.destinations d where d.id = r.destination_id and d.rate_table_id = :std and d.prefix = '44';
call tests.as_staff('{billing}');
select is((select (kept, calls)::text from billing.rate_calls(:op, '[2026-11-01,2026-12-01)')), '(11,0)',
  'rated again: the billed service''s eleven ratings are kept, none made anew');

select * from finish();
rollback;
