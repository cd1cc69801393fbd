-- An IP address (IPv4, IPv6, or a delegated IPv6 prefix) is never held by two services at once;
-- one holder after the other is fine.
begin;
select plan(10);

select tests.net_make_service() as a \gset
select tests.net_make_service() as b \gset
select tests.net_make_service() as c \gset

call tests.as_staff('{technician}');

-- IPv4
select net.assign_ip('192.0.2.10', :a, null, '2024-01-01') as a4 \gset
select throws_ok(
  format($$select net.assign_ip('192.0.2.10', %s, null, '2024-06-01')$$, :b),
  'MG031', format('address 192.0.2.10 is already assigned (to service %s) at that time', :a),
  'an IPv4 address held by one service cannot be given to another at the same time'
);
select lives_ok(
  format($$select net.release_ip(%s, '2024-03-01'); select net.assign_ip('192.0.2.10', %s, null, '2024-03-01')$$,
         :a4, :b),
  'the next holder may start the moment the previous one ended'
);
select throws_ok(
  format($$select net.assign_ip('192.0.2.10', %s, null, '2024-02-01')$$, :c),
  'MG031', null, 'a period that overlaps a closed (historical) holding is refused too'
);
select throws_ok(
  format($$insert into net.ip_assignments (address, service_id, valid)
           values ('192.0.2.10', %s, tstzrange('2023-12-01', '2024-01-02'))$$, :c),
  '23P01', null, 'the table itself refuses overlapping periods (exclusion constraint)'
);
select lives_ok(
  format($$insert into net.ip_assignments (address, service_id, valid)
           values ('192.0.2.10', %s, tstzrange('2023-06-01', '2024-01-01'))$$, :c),
  'an earlier period that ends where the first holder began is fine'
);

-- IPv6 addresses
select net.assign_ip('2001:db8:1::5', :a, null, '2024-01-01') as a6 \gset
select throws_ok(
  format($$select net.assign_ip('2001:db8:1::5', %s, null, '2024-01-15')$$, :b),
  'MG031', null, 'an IPv6 address cannot be held twice at once'
);
select lives_ok(
  format($$select net.release_ip(%s, '2024-02-01'); select net.assign_ip('2001:db8:1::5', %s, null, '2024-02-01')$$,
         :a6, :b),
  'an IPv6 address passes to the next holder when the first one ends'
);

-- A delegated IPv6 prefix and the addresses inside it
select net.assign_ip('2001:db8:f100::/56', :a, null, '2024-01-01') as a56 \gset
select throws_ok(
  format($$select net.assign_ip('2001:db8:f100:10::1', %s, null, '2024-05-01')$$, :b),
  'MG031', null, 'an address inside a delegated prefix cannot be given to someone else'
);
select throws_ok(
  format($$select net.assign_ip('2001:db8::/40', %s, null, '2024-05-01')$$, :c),
  'MG031', null, 'a wider prefix that covers a delegated one is refused'
);
select lives_ok(
  format($$select net.release_ip(%s, '2024-04-01'); select net.assign_ip('2001:db8:f100:10::1', %s, null, '2024-04-01')$$,
         :a56, :b),
  'after the delegation ends, an address inside it can be assigned'
);

select * from finish();
rollback;
