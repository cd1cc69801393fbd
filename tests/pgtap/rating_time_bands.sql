-- The time band of a call is the band of the minute it began in the operator's zone: peak Monday
-- to Friday [07:00, 19:00), off-peak the other weekday hours, weekend Saturday and Sunday all day,
-- and a public holiday (17 November 2026, a Tuesday) in the weekend band all day. A call is rated
-- entirely in the band it began in. Czech fixed lines: 1.00 a minute in peak, 0.50 otherwise
-- (tests.make_rate_table; the weekend band has no price of its own, the price for every band
-- applies).
begin;
select plan(12);

select tests.make_operator() as op \gset
select tests.make_rate_table(:op) as std \gset
select tests.make_usage_tariff(:op) as tariff \gset
select tests.make_customer(:op) as cu \gset
select tests.make_voice_service(:cu, :tariff, '+420532100001') as s1 \gset

create temporary table c (name text primary key, id bigint);
insert into c values
  ('mon 06:59:59', tests.make_call(:op, '532100001', '245123456', '2026-11-02 06:59:59', 60)),
  ('mon 07:00:00', tests.make_call(:op, '532100001', '245123456', '2026-11-02 07:00:00', 60)),
  ('mon 18:59:59', tests.make_call(:op, '532100001', '245123456', '2026-11-02 18:59:59', 60)),
  ('mon 19:00:00', tests.make_call(:op, '532100001', '245123456', '2026-11-02 19:00:00', 60)),
  ('fri 23:59:59', tests.make_call(:op, '532100001', '245123456', '2026-11-06 23:59:59', 60)),
  ('sat 00:00:00', tests.make_call(:op, '532100001', '245123456', '2026-11-07 00:00:00', 60)),
  ('sat 12:00:00', tests.make_call(:op, '532100001', '245123456', '2026-11-07 12:00:00', 60)),
  ('sun 23:59:59', tests.make_call(:op, '532100001', '245123456', '2026-11-08 23:59:59', 60)),
  ('mon 00:00:00', tests.make_call(:op, '532100001', '245123456', '2026-11-09 00:00:00', 60)),
  ('holiday tue 10:00', tests.make_call(:op, '532100001', '245123456', '2026-11-17 10:00:00', 60)),
  ('wed 10:00 after the holiday', tests.make_call(:op, '532100001', '245123456', '2026-11-18 10:00:00', 60)),
  ('mon 18:59:30 for ten minutes', tests.make_call(:op, '532100001', '245123456', '2026-11-02 18:59:30', 600));

call tests.as_staff('{billing}');
select is((select rated from billing.rate_calls(:op, '[2026-11-01,2026-12-01)')), 12, 'all twelve calls rated');
call tests.as_superuser();

create temporary view banded as
select c.name, b.code as band, r.price
  from c join billing.rated_calls r on r.call_id = c.id join billing.time_bands b on b.id = r.band_id;

select is((select (band, price)::text from banded where name = 'mon 06:59:59'), '(offpeak,0.50)',
  'Monday 06:59:59 is off-peak');
select is((select (band, price)::text from banded where name = 'mon 07:00:00'), '(peak,1.00)',
  'Monday 07:00:00 is peak');
select is((select (band, price)::text from banded where name = 'mon 18:59:59'), '(peak,1.00)',
  'Monday 18:59:59 is still peak');
select is((select (band, price)::text from banded where name = 'mon 19:00:00'), '(offpeak,0.50)',
  'Monday 19:00:00 is off-peak');
select is((select (band, price)::text from banded where name = 'fri 23:59:59'), '(offpeak,0.50)',
  'Friday 23:59:59 is off-peak');
select is((select (band, price)::text from banded where name = 'sat 00:00:00'), '(weekend,0.50)',
  'Saturday 00:00:00 is the weekend');
select is((select band from banded where name = 'sun 23:59:59'), 'weekend', 'Sunday 23:59:59 is the weekend');
select is((select band from banded where name = 'mon 00:00:00'), 'offpeak', 'Monday 00:00:00 is off-peak again');
select is((select (band, price)::text from banded where name = 'holiday tue 10:00'), '(weekend,0.50)',
  'a public holiday on a Tuesday at 10:00 is rated as the weekend');
select is((select band from banded where name = 'wed 10:00 after the holiday'), 'peak', 'the next day is peak');
select is((select (band, price)::text from banded where name = 'mon 18:59:30 for ten minutes'), '(peak,10.00)',
  'a call that begins at 18:59:30 is rated whole in peak');

select * from finish();
rollback;
