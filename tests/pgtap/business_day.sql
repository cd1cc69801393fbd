-- One business day: "today" is the date in the operator's time zone (crm.business_date), whatever
-- the session's TimeZone; the web client and the scheduler set their sessions to crm.business_zone()
-- and agree with it, also at 23:30 UTC, when Prague already has the next day.
begin;
select plan(17);

select tests.make_operator() as op \gset
update crm.operators set time_zone = 'Europe/Prague' where id = :op;
select tests.make_tariff(300, :op) as tariff \gset

-- At 23:30 UTC on 1 December Prague (UTC+1) is at 00:30 on 2 December.
select is(crm.business_date(:op, '2026-12-01 23:30+00'), date '2026-12-02', 'Prague''s date at 23:30 UTC');
select is(crm.business_day_start('2026-12-01 23:30+00'), timestamptz '2026-12-01 23:00+00',
          'the business day began at Prague''s midnight');

-- The web client's session (its TimeZone set to crm.business_zone(), as webclient/web/pool.py does).
call tests.as_staff('{support}');
select set_config('TimeZone', crm.business_zone(), true) as zone \gset
select is((timestamptz '2026-12-01 23:30+00')::date, date '2026-12-02', 'the web client''s today at 23:30 UTC');
select is(crm.business_date(null, '2026-12-01 23:30+00'), date '2026-12-02', 'and its business date');

-- The scheduler's session (agents/bus.py sets its TimeZone the same way).
call tests.as_superuser();
set local role mango_agent_scheduler;
select set_config('TimeZone', crm.business_zone(), true) as zone \gset
select is((timestamptz '2026-12-01 23:30+00')::date, date '2026-12-02', 'the scheduler''s today at 23:30 UTC');
select is(crm.business_date(:op, '2026-12-01 23:30+00'), date '2026-12-02', 'and its business date');
select is(crm.earliest_business_date('2026-12-01 23:30+00'), date '2026-12-02',
          'the daily jobs may run for 2 December then');
reset role;

-- A session in another zone (a DBA's psql in UTC, a misconfigured client) still dates by the
-- operator: a zone whose date differs from Prague's right now, whatever the hour.
call tests.as_staff('{support}');
select set_config('TimeZone',
                  case when (now() at time zone 'Etc/GMT+12')::date <> crm.business_date(:op) then 'Etc/GMT+12'
                       else 'Pacific/Kiritimati' end, true) as zone \gset
select isnt(current_date, crm.business_date(:op), 'this session''s current_date is not the operator''s today');
insert into crm.customers (operator_id, first_name, last_name) values (:op, 'Dana', 'Dnešní')
returning id as customer \gset
select is((select created_on from crm.customers where id = :customer), crm.business_date(:op),
          'a new customer''s first day is the operator''s today');
select crm.activate_service(:customer, :tariff, crm.business_date(:op)) as today_service \gset
select crm.activate_service(:customer, :tariff, crm.business_date(:op) + 1) as tomorrow_service \gset
select catalog.place_order(:customer, 'activate', p_tariff_id => :tariff) as order_id \gset
select is((select state from crm.services where id = :today_service), 'active',
          'a service from the operator''s today is active at once (and may start on the customer''s first day)');
select is((select state from crm.services where id = :tomorrow_service), 'ordered', 'one from tomorrow is ordered');
select is((select effective_on from catalog.orders where id = :order_id), crm.business_date(:op),
          'an order is for the operator''s today by default');

-- Each operator has its own day; a date applied to all of them is the earliest one.
call tests.as_superuser();
select tests.make_operator() as west \gset
update crm.operators set time_zone = 'America/New_York' where id = :west;
select is(crm.business_date(:west, '2026-12-01 23:30+00'), date '2026-12-01', 'New York is still on 1 December');
select is(crm.business_day_start('2026-12-01 23:30+00'), timestamptz '2026-12-01 23:00+00',
          'the latest business day began in Prague');
select is(crm.earliest_business_date('2026-12-01 23:30+00'), date '2026-12-01',
          'a daily job''s today may not pass New York''s');
select is(crm.business_zone(), (select time_zone from crm.operators where active order by id limit 1),
          'without an operator: the zone of the first one');

select throws_ok(
    format($$update crm.operators set time_zone = 'UTC+1' where id = %s$$, :west),
    'MG001', 'unknown time zone: UTC+1 (give a name such as Europe/Prague)', 'a zone is an IANA name'
);

select * from finish();
rollback;
