-- The customer search finds who holds an IP address, a MAC address or a device's serial number
-- now (CRM-6), in the formats staff type them; other queries are left to the text search.
begin;
select plan(12);

select tests.make_operator() as op \gset
select tests.make_customer(:op, 'Zwettlerová', 'Quirina') as c1 \gset
select tests.make_customer(:op, 'Vrána', 'Eva') as c2 \gset
select tests.net_make_service(:c1) as s1 \gset
select tests.net_make_service(:c2) as s2 \gset
select tests.net_make_device('cpe-search-test', null, 'cpe') as cpe \gset
update net.devices set serial_no = 'HWTC9A7B3C21' where id = :cpe;
insert into net.service_devices (service_id, device_id, role) values (:s2, :cpe, 'cpe');
insert into net.ip_assignments (address, service_id, valid) values
  ('192.0.2.77', :s1, tstzrange(now() - interval '1 day', null)),
  ('192.0.2.78', :s2, tstzrange(now() - interval '10 days', now() - interval '1 day')),
  ('2001:db8:77::/48', :s2, tstzrange(now() - interval '1 day', null));
insert into net.mac_assignments (mac, service_id, device_id, valid) values
  ('02:00:5e:10:00:01', :s1, null, tstzrange(now() - interval '1 day', null)),
  ('02:00:5e:10:00:02', null, :cpe, tstzrange(now() - interval '1 day', null));

call tests.as_staff('{support}');
select is((select array_agg(id) from crm.search_customers('192.0.2.77')), array[:c1::bigint],
  'an IP address finds the customer whose service holds it');
select is((select array_agg(id) from crm.search_customers(' 2001:db8:77::1 ')), array[:c2::bigint],
  'an address inside a delegated prefix finds the prefix''s holder');
select is((select count(*)::integer from crm.search_customers('192.0.2.78')), 0,
  'an address given back yesterday finds no one now');
select is((select array_agg(id) from crm.search_customers('02-00-5E-10-00-01')), array[:c1::bigint],
  'a MAC with dashes, in capitals');
select is((select array_agg(id) from crm.search_customers('0200.5e10.0001')), array[:c1::bigint],
  'a MAC in Cisco notation');
select is((select array_agg(id) from crm.search_customers('02005e100001')), array[:c1::bigint],
  'a MAC as twelve hex digits');
select is((select array_agg(id) from crm.search_customers('02:00:5e:10:00:02')), array[:c2::bigint],
  'the MAC of a device finds the customer of the service the device carries');
select is((select array_agg(id) from crm.search_customers('hwtc9a7b3c21')), array[:c2::bigint],
  'a device''s serial number, case-blind');
select is((select count(*)::integer from net.customers_holding('420777123456')), 0,
  'twelve plain digits are a phone number, not a MAC');
select is((select count(*)::integer from net.customers_holding('999.1.1.1')), 0,
  'something that only looks like an address is no error');
select is((select array_agg(id) from crm.search_customers('zwettlerova quirina')), array[:c1::bigint],
  'names still go to the text search');
select is((select array_agg(id) from crm.search_customers('192.0.2.77', 'zzz', 0)), null,
  'the holders come in the list''s pages too (nothing after the last one)');
call tests.as_superuser();

select * from finish();
rollback;
