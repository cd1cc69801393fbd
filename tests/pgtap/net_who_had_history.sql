-- 'Who had this IP at that time' answers for past moments after the address was released and
-- given to someone else, with the customer and the MAC of that time; inside a delegated prefix too.
begin;
select plan(8);

select tests.make_operator() as op \gset
select tests.make_customer(:op, 'První') as c1 \gset
select tests.make_customer(:op, 'Druhý') as c2 \gset
select tests.make_tariff(390, :op) as tariff \gset
select tests.net_make_service(:c1, :tariff) as s1 \gset
select tests.net_make_service(:c2, :tariff) as s2 \gset
insert into net.mac_assignments (mac, service_id, valid) values
  ('00:11:22:33:44:01', :s1, tstzrange('2024-01-01', null)),
  ('00:11:22:33:44:02', :s2, tstzrange('2024-01-01', null));

call tests.as_staff('{technician}');
select net.assign_ip('198.51.100.7', :s1, null, '2024-01-10 08:00+01') as a1 \gset
select net.release_ip(:a1, '2024-03-01 12:00+01') is null as released \gset
select net.assign_ip('198.51.100.7', :s2, null, '2024-03-01 12:00+01') as a2 \gset
select net.assign_ip('2001:db8:200::/56', :s1, null, '2024-01-10') as pd \gset

call tests.as_superuser();
call tests.as_staff('{support}');
select is(
  (select count(*)::integer from net.who_had('198.51.100.7', '2024-01-01')), 0, 'nobody had it before the first holder'
);
select results_eq(
  $$select service_id, customer_id, mac from net.who_had('198.51.100.7', '2024-02-14 20:00+01')$$,
  format($$values (%s::bigint, %s::bigint, '00:11:22:33:44:01'::macaddr)$$, :s1, :c1),
  'in February the first customer had it, with their MAC'
);
select is(
  (select service_id from net.who_had('198.51.100.7', '2024-03-01 11:59:59+01')), :s1::bigint,
  'a second before the release it was still the first holder'
);
select is(
  (select service_id from net.who_had('198.51.100.7', '2024-03-01 12:00+01')), :s2::bigint,
  'from the release on it is the next holder'
);
select results_eq(
  $$select service_id, customer_id, mac from net.who_had('198.51.100.7', '2025-06-01')$$,
  format($$values (%s::bigint, %s::bigint, '00:11:22:33:44:02'::macaddr)$$, :s2, :c2),
  'later the second customer has it, with their MAC'
);
select is(
  (select customer_no from net.who_had('198.51.100.7', '2024-02-14')),
  (select customer_no from crm.customers where id = :c1), 'the answer names the customer number'
);
select is(
  (select service_id from net.who_had('2001:db8:200:3a::1234', '2024-05-01')), :s1::bigint,
  'an address inside a delegated IPv6 prefix belongs to the prefix''s holder'
);
select is(
  (select count(*)::integer from net.who_had('2001:db8:201::1', '2024-05-01')), 0,
  'an address next to the delegated prefix belongs to nobody'
);

select * from finish();
rollback;
