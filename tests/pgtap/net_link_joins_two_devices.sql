-- A link joins two devices: the database refuses a link between two interfaces of one device
-- (only the web form used to check it), and an interface that would move onto the device it is
-- linked to.
begin;
select plan(5);

select tests.net_make_device('link-core', null, 'router', 'fibre', true) as core \gset
select tests.net_make_device('link-agg', :core) as agg \gset
insert into net.interfaces (device_id, name, kind) values (:core, 'sfp-a', 'sfp') returning id as a \gset
insert into net.interfaces (device_id, name, kind) values (:core, 'sfp-b', 'sfp') returning id as b \gset
insert into net.interfaces (device_id, name, kind) values (:agg, 'sfp-x', 'sfp') returning id as x \gset

call tests.as_staff('{technician}');
select throws_ok(
  format($$insert into net.links (a_interface_id, b_interface_id, medium) values (%s, %s, 'fibre')$$, :a, :b),
  'MG030', 'a link joins two devices: both interfaces belong to the same device',
  'a link between two interfaces of one device is refused'
);
select lives_ok(
  format($$insert into net.links (a_interface_id, b_interface_id, medium) values (%s, %s, 'fibre')$$, :a, :x),
  'a link between two devices is taken'
);
select throws_ok(
  format($$update net.links set b_interface_id = %s where a_interface_id = %s and b_interface_id = %s$$, :b, :a, :x),
  'MG030', 'a link joins two devices: both interfaces belong to the same device',
  'a link cannot be turned into one between two interfaces of one device'
);
select throws_ok(
  format($$update net.interfaces set device_id = %s where id = %s$$, :core, :x),
  'MG030', format('interface sfp-x is linked to device %s: it cannot move to that device', :core),
  'an interface cannot move onto the device it is linked to'
);
select lives_ok(
  format($$update net.interfaces set note = 'spare' where id = %s$$, :x),
  'an interface that stays where it is can change'
);

select * from finish();
rollback;
