-- A customer's addresses over a period follow the service's owners: after the service moved to
-- another customer, the first customer keeps only the time they held it.
begin;
select plan(5);

select tests.make_operator() as op \gset
select tests.make_customer(:op, 'Prodávající') as seller \gset
select tests.make_customer(:op, 'Kupující') as buyer \gset
select tests.make_tariff(420, :op) as tariff \gset
select tests.net_make_service(:seller, :tariff) as svc \gset
select net.assign_ip('203.0.113.44', :svc, null, '2024-01-01 00:00+01') as a1 \gset
select net.release_ip(:a1, '2024-08-01 00:00+02') is null as released \gset
select net.assign_ip('203.0.113.45', :svc, null, '2024-08-01 00:00+02') as a2 \gset

call tests.as_staff('{support}');
select crm.move_service(:svc, :buyer, '2024-05-01', 'house sold') is null as moved \gset

select results_eq(
  $$select address, valid from net.customer_addresses($$ || :seller || $$, tstzrange('2024-01-01', '2025-01-01'))$$,
  $$values ('203.0.113.44'::inet, tstzrange('2024-01-01 00:00+00', '2024-05-01 00:00+02'))$$,
  'the seller had the first address (within the period asked) until the Prague day the service moved'
);
select results_eq(
  $$select address, valid from net.customer_addresses($$ || :buyer || $$, tstzrange('2024-01-01', '2025-01-01'))$$,
  $$values ('203.0.113.44'::inet, tstzrange('2024-05-01 00:00+02', '2024-08-01 00:00+02')),
           ('203.0.113.45'::inet, tstzrange('2024-08-01 00:00+02', '2025-01-01 00:00+00'))$$,
  'the buyer had the first address from the move, then the second one'
);
select is(
  (select count(*)::integer from net.customer_addresses(:seller, tstzrange('2024-06-01', '2025-01-01'))), 0,
  'the seller had no address after the move'
);
select is(
  (select customer_id from net.who_had('203.0.113.44', '2024-04-30 12:00+02')), :seller::bigint,
  'who_had names the seller before the move'
);
select is(
  (select customer_id from net.who_had('203.0.113.44', '2024-05-01 12:00+02')), :buyer::bigint,
  'and the buyer after it'
);

select * from finish();
rollback;
