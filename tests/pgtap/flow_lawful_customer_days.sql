-- A lawful query by customer for whole days: the database makes the period from the first day's
-- midnight to the midnight after the last, in the time zone of the customer's operator (the web
-- client used to compute it); it refuses a last day before the first, and the limits of flow
-- records are the database's (flow.query_limits), the default one when none is given.
begin;
select plan(7);

select * from tests.lawful_scenario(4) \gset
update crm.operators set time_zone = 'Asia/Tokyo' where id = :op;
select (:'t0'::timestamptz at time zone 'Asia/Tokyo')::date as day \gset

call tests.as_staff('{flow}');
select flow.open_case('KRPB-400/TČ-2025', 'Policie ČR', '§ 88a trestního řádu') as case_id \gset

select flow.run_customer_query(:case_id, :c2, :'day'::date, :'day'::date) as q \gset
select is(
  (select period from flow.lawful_queries where id = :q),
  tstzrange(:'day'::timestamp at time zone 'Asia/Tokyo', (:'day'::date + 1)::timestamp at time zone 'Asia/Tokyo'),
  'one day is that day from midnight to midnight in the operator''s time zone'
);
select is(
  (select flow_limit from flow.lawful_queries where id = :q), (flow.query_limits()).default_flow_limit,
  'without a limit of flow records the default one applies'
);
select ok(
  (select subscriber_rows > 0 and flow_rows = 1 from flow.lawful_queries where id = :q),
  'the day''s answer names her address and its flow'
);
select throws_ok(
  format($$select flow.run_customer_query(%s, %s, %L::date, %L::date - 1)$$, :case_id, :c2, :'day', :'day'),
  'MG722', format('the last day (%s) cannot be before the first (%s)', :'day'::date - 1, :'day'),
  'a last day before the first is refused'
);
select throws_ok(
  format($$select flow.run_customer_query(%s, %s, null::date, %L::date)$$, :case_id, :c2, :'day'),
  'MG722', 'give the first day of the period',
  'a period needs its first day'
);
select throws_ok(
  format($$select flow.run_customer_query(%s, %s, %L::date, %L::date, %s)$$, :case_id, :c2, :'day', :'day',
         (flow.query_limits()).max_flow_limit + 1),
  'MG722', 'the limit of flow records must be a whole number from 1 to 1,000,000',
  'a limit above the largest is refused, saying the range'
);
select is(
  (select count(*)::integer from flow.lawful_queries where case_id = :case_id), 1,
  'refused queries are not kept'
);

select * from finish();
rollback;
