-- Releasing an address from a device's page releases only that device's addresses (its own or
-- those of its interfaces): another device's or a service's assignment is refused and stays open.
begin;
select plan(8);

select tests.net_make_device('rel-sw1', null, 'switch') as sw1 \gset
select tests.net_make_device('rel-sw2', null, 'switch') as sw2 \gset
insert into net.interfaces (device_id, name) values (:sw1, 'rel-eth0') returning id as eth0 \gset
select tests.net_make_service() as service \gset
select net.assign_ip('10.250.1.1', null, :sw1) as own \gset
select net.assign_ip('10.250.1.2', null, :sw2) as other \gset
select net.assign_ip('10.250.1.3', :service) as customer \gset
insert into net.ip_assignments (address, interface_id, valid) values ('10.250.1.4', :eth0, tstzrange(now(), null))
returning id as on_interface \gset

call tests.as_staff('{technician}');
select throws_ok(
  format('select net.release_device_ip(%s, %s)', :sw1, :other), 'MG034', null,
  'another device''s address is refused'
);
select throws_ok(
  format('select net.release_device_ip(%s, %s)', :sw1, :customer), 'MG034', null,
  'a service''s address is refused'
);
select ok(
  (select bool_and(upper_inf(valid)) from net.ip_assignments where id in (:other, :customer)),
  'both stay assigned'
);
select lives_ok(format('select net.release_device_ip(%s, %s)', :sw1, :own), 'the device''s own address is released');
select lives_ok(
  format('select net.release_device_ip(%s, %s)', :sw1, :on_interface), 'so is an address of one of its interfaces'
);
select is(
  (select count(*) from net.ip_assignments where id in (:own, :on_interface) and not upper_inf(valid)), 2::bigint,
  'both are closed, their history kept'
);
select throws_ok(
  format('select net.release_device_ip(%s, %s)', :sw1, :own), 'MG031', null,
  'releasing it again says that nothing was open'
);

call tests.as_staff('{sales}');
select throws_ok(
  format('select net.release_device_ip(%s, %s)', :sw2, :other), '42501', null,
  'sales may not release addresses'
);

select * from finish();
rollback;
