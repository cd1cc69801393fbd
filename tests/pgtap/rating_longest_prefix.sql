-- Rating picks the destination with the longest prefix of the called number in international
-- form (a national number gets 420, 00… and +… are international), in the rate table the tariff
-- names (parameter rate_table), else the operator's default one; a call from a number no service
-- held, or to a number no prefix matches, is kept unrated with the reason.
begin;
select plan(13);

select tests.make_operator() as op \gset
select tests.make_rate_table(:op) as std \gset
select tests.make_rate_table(:op, 'biz', false) as biz \gset
-- The business table's Czech mobile price in the peak band: 0.90 instead of 2.00.
update billing.rates r set price_per_minute = 0.90
  from billing.destinations d
 where d.id = r.destination_id and d.rate_table_id = :biz and d.prefix = '4206' and r.band_id is not null;
select tests.make_usage_tariff(:op) as home \gset
select tests.make_usage_tariff(:op, '{"rate_table": "biz"}') as office \gset
select tests.make_customer(:op) as cu \gset
select tests.make_voice_service(:cu, :home, '+420532100001') as s1 \gset
select tests.make_voice_service(:cu, :office, '+420532100002') as s2 \gset

-- Monday 2 November 2026, 10:00 (peak), one minute each.
create temporary table c (name text primary key, id bigint) on commit drop;
insert into c values
  ('fixed', tests.make_call(:op, '532100001', '245123456', '2026-11-02 10:00', 60)),
  ('mobile', tests.make_call(:op, '532100001', '602123456', '2026-11-02 10:01', 60)),
  ('emergency', tests.make_call(:op, '532100001', '112', '2026-11-02 10:02', 60)),
  ('directory', tests.make_call(:op, '532100001', '1188', '2026-11-02 10:03', 60)),
  ('sk_mobile', tests.make_call(:op, '532100001', '00421905123456', '2026-11-02 10:04', 60)),
  ('sk_fixed', tests.make_call(:op, '532100001', '00421255123456', '2026-11-02 10:05', 60)),
  ('uk', tests.make_call(:op, '532100001', '+441632960123', '2026-11-02 10:06', 60)),
  ('france', tests.make_call(:op, '532100001', '0033123456789', '2026-11-02 10:07', 60)),
  ('office_mobile', tests.make_call(:op, '+420532100002', '602123456', '2026-11-02 10:08', 60)),
  ('stranger', tests.make_call(:op, '532199999', '602123456', '2026-11-02 10:09', 60));

call tests.as_staff('{billing}');
select is((select (calls, rated, unrated)::text from billing.rate_calls(:op, '[2026-11-01,2026-12-01)')),
  '(10,8,2)', 'ten calls: eight rated, two left unrated');

call tests.as_superuser();
create temporary view rated as
select c.name, r.status, d.prefix, d.rate_table_id, r.price
  from c join billing.rated_calls r on r.call_id = c.id left join billing.destinations d on d.id = r.destination_id;

select is((select prefix from rated where name = 'fixed'), '420', 'a national fixed number: 420');
select is((select prefix from rated where name = 'mobile'), '4206', '602…: 4206 is longer than 420');
select is((select (prefix, price)::text from rated where name = 'emergency'), '(420112,0.00)',
  '112: 420112, free, not 420');
select is((select (prefix, price)::text from rated where name = 'directory'), '(4201188,17.00)',
  '1188: 4201188, 5.00 connection fee and a minute at 12.00');
select is((select prefix from rated where name = 'sk_mobile'), '42190', '00421905…: 42190 is longer than 421');
select is((select prefix from rated where name = 'sk_fixed'), '421', '00421255…: 421');
select is((select prefix from rated where name = 'uk'), '44', '+44…: 44');
select is((select (status, prefix)::text from rated where name = 'france'), '(no_destination,)',
  'no prefix for France: no_destination');
select is((select (status, prefix)::text from rated where name = 'stranger'), '(no_service,)',
  'a number no service held: no_service');
select is((select (rate_table_id, price)::text from rated where name = 'mobile'), format('(%s,2.00)', :std),
  'a tariff naming no rate table: the default one');
select is((select (rate_table_id, price)::text from rated where name = 'office_mobile'), format('(%s,0.90)', :biz),
  'a tariff with rate_table biz: that table''s price');

call tests.as_staff('{support}');
select throws_ok(format('select billing.rate_calls(%s, ''[2026-11-01,2026-12-01)'')', :op), '42501', null,
  'support cannot rate calls');

select * from finish();
rollback;
