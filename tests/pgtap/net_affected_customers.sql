-- The customers affected by an aggregation switch are exactly those whose CPE or access point
-- hangs below it: core → two aggregation switches → access points → CPEs with services.
begin;
select plan(6);

select tests.make_operator() as op \gset
select tests.make_tariff(450, :op) as tariff \gset
select tests.net_make_device('aff-core', null, 'router', 'fibre', true) as core \gset
select tests.net_make_device('aff-agg1', :core) as agg1 \gset
select tests.net_make_device('aff-agg2', :core) as agg2 \gset
select tests.net_make_device('aff-ap11', :agg1, 'ap') as ap11 \gset
select tests.net_make_device('aff-ap12', :agg1, 'ap') as ap12 \gset
select tests.net_make_device('aff-ap21', :agg2, 'ap') as ap21 \gset

-- Customers 1–3 behind agg1 (two on ap11, one on ap12), 4–5 behind agg2; customer 6 behind agg1
-- had a service that ended; customer 7's CPE was taken back (its tie to the device is closed).
create temporary table aff (n integer, customer_id bigint, service_id bigint, ap bigint) on commit drop;
insert into aff (n, customer_id, ap)
select n, tests.make_customer(:op, 'Zákazník' || n),
       case when n in (1, 2, 6, 7) then :ap11 when n = 3 then :ap12 else :ap21 end
  from generate_series(1, 7) n;
update aff set service_id = tests.net_make_service(customer_id, :tariff);
select count(tests.net_make_device('aff-cpe' || n, ap, 'cpe', 'radio')) as cpes from aff \gset
insert into net.service_devices (service_id, device_id, role)
select a.service_id, d.id, 'cpe' from aff a join net.devices d on d.name = 'aff-cpe' || a.n;
insert into net.service_devices (service_id, device_id, role) select service_id, ap, 'access' from aff;
select count(crm.end_service(service_id, '2024-02-01', 'test')) as ended from aff where n = 6 \gset
update net.service_devices set valid = tstzrange('2024-01-01', '2024-06-01')
 where service_id = (select service_id from aff where n = 7);

select array_agg(customer_id order by customer_id) filter (where n in (1, 2, 3)) as behind_agg1,
       array_agg(customer_id order by customer_id) filter (where n in (4, 5)) as behind_agg2,
       array_agg(customer_id order by customer_id) filter (where n <= 5) as running,
       array_agg(customer_id order by customer_id) filter (where n = 3) as behind_ap12,
       array_agg(customer_id order by customer_id) filter (where n = 1) as first
  from aff \gset
select id as cpe1 from net.devices where name = 'aff-cpe1' \gset

call tests.as_staff('{support}');
select is(
  (select array_agg(customer_id order by customer_id) from net.affected_customers(:agg1)), :'behind_agg1'::bigint[],
  'an aggregation switch affects exactly the customers behind it'
);
select is(
  (select array_agg(customer_id order by customer_id) from net.affected_customers(:agg2)), :'behind_agg2'::bigint[],
  'the other aggregation switch affects only its own customers'
);
select is(
  (select array_agg(customer_id order by customer_id) from net.affected_customers(:core)), :'running'::bigint[],
  'the core affects every running service, not ended ones nor devices taken back'
);
select is(
  (select array_agg(customer_id order by customer_id) from net.affected_customers(:ap12)), :'behind_ap12'::bigint[],
  'an access point affects its own customers'
);
select is(
  (select count(*)::integer from net.affected_customers(:agg1)), 3,
  'each service is listed once although both its CPE and its access point are below the switch'
);
select is(
  (select array_agg(customer_id order by customer_id) from net.affected_customers(:cpe1)), :'first'::bigint[],
  'a CPE affects its own customer'
);

select * from finish();
rollback;
