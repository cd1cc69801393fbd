-- The topology is a tree: a device cannot be its own parent nor its own ancestor (MG030).
begin;
select plan(6);

select tests.net_make_device('loop-core', null, 'router', 'fibre', true) as core \gset
select tests.net_make_device('loop-agg', :core) as agg \gset
select tests.net_make_device('loop-ap', :agg, 'ap') as ap \gset
select tests.net_make_device('loop-cpe', :ap, 'cpe', 'radio') as cpe \gset

call tests.as_staff('{technician}');
select throws_ok(
  format($$update net.devices set parent_device_id = id, parent_interface_id = null where id = %s$$, :agg),
  'MG030', 'device loop-agg cannot be its own ancestor: choose a parent that is not below it',
  'a device cannot be its own parent'
);
select throws_ok(
  format($$update net.devices set parent_device_id = %s, parent_interface_id = null where id = %s$$, :ap, :agg),
  'MG030', 'device loop-agg cannot be its own ancestor: choose a parent that is not below it',
  'a device cannot hang on its own child'
);
select throws_ok(
  format($$update net.devices set parent_device_id = %s, parent_interface_id = null where id = %s$$, :cpe, :core),
  'MG030', 'device loop-core cannot be its own ancestor: choose a parent that is not below it',
  'a device cannot hang on a device three levels below it'
);
select throws_ok(
  format($$update net.devices set parent_interface_id = (select id from net.interfaces where device_id = %s limit 1)
            where id = %s$$, :core, :cpe),
  'MG030', 'the parent interface must be an interface of the parent device',
  'the parent interface belongs to the parent device'
);
select lives_ok(
  format($$update net.devices set parent_device_id = %s, parent_interface_id = null where id = %s$$, :core, :cpe),
  'hanging a device higher up in its own branch is fine'
);
select is(
  (select array_agg(device_id order by depth) from net.path_to_core(:cpe)),
  array[:cpe, :core]::bigint[], 'the path to the core follows the new parent'
);

select * from finish();
rollback;
