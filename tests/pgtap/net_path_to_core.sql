-- The path from a device to the core lists every device up the chain with the interface it
-- hangs on and the link's medium and speed.
begin;
select plan(3);

select tests.net_make_site('PTC-POP') as pop \gset
select tests.net_make_device('ptc-core', null, 'router', 'fibre', true, :pop) as core \gset
select tests.net_make_device('ptc-agg', :core, 'switch', 'fibre') as agg \gset
select tests.net_make_device('ptc-ap', :agg, 'ap', 'copper') as ap \gset
select tests.net_make_device('ptc-cpe', :ap, 'cpe', 'radio') as cpe \gset

call tests.as_staff('{support}');
select results_eq(
  format('select depth, device_id, name, uplink_interface, medium, speed_mbps, is_core from net.path_to_core(%s)', :cpe),
  format($$values (0, %s::bigint, 'ptc-cpe'::text, 'port-ptc-cpe'::text, 'radio'::text, 300, false),
                  (1, %s, 'ptc-ap', 'port-ptc-ap', 'copper', 1000, false),
                  (2, %s, 'ptc-agg', 'port-ptc-agg', 'fibre', 10000, false),
                  (3, %s, 'ptc-core', null, null, null, true)$$, :cpe, :ap, :agg, :core),
  'the CPE''s path goes by radio to the AP, copper to the switch and fibre to the core'
);
select is((select site from net.path_to_core(:cpe) where is_core), 'Site PTC-POP', 'the path names the core''s site');
select is((select count(*)::integer from net.path_to_core(:core)), 1, 'the core''s path is the core alone');

select * from finish();
rollback;
