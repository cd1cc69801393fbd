-- A CPE given to a customer's service sits in the customer store; moving it out of that store
-- (back to a warehouse or a technician's car) detaches it from the service.
begin;
select plan(8);

select tests.net_make_service() as svc \gset
select tests.net_make_device('mv-ap', null, 'ap') as ap \gset
select tests.net_store('warehouse', 'Test warehouse') as wh \gset
select tests.net_store('customer', 'Test customers') as cust_store \gset
select tests.net_store('scrap', 'Test scrap') as scrap \gset
insert into net.device_models (manufacturer, model, kind) values ('MikroTik', 'Test SXT', 'cpe') returning id as model \gset

call tests.as_staff('{technician}');
select net.stock_in(:wh, :model, 'MV0001') as cpe \gset
select lives_ok(format('select net.assign_device(%s, %s, %s)', :cpe, :svc, :ap), 'a technician gives the CPE to the service');
select results_eq(
  format('select store_id, state, parent_device_id from net.devices where id = %s', :cpe),
  format('values (%s::bigint, %L::text, %s::bigint)', :cust_store, 'active', :ap),
  'the assigned CPE is in the customer store, active, hanging on its access point'
);

select lives_ok(format($$select net.move_device(%s, %s, 'returned after termination')$$, :cpe, :wh),
                'the technician takes the CPE back to the warehouse');
select ok(
  (select bool_and(not upper_inf(valid)) from net.service_devices where device_id = :cpe and service_id = :svc),
  'the CPE no longer carries the service (its period is closed)'
);
select results_eq(
  format('select kind, from_store_id, to_store_id from net.stock_movements where device_id = %s order by id', :cpe),
  format($$values ('stock_in'::text, null::bigint, %1$s::bigint), ('assign', %1$s, %2$s), ('detach', %2$s, %1$s)$$,
         :wh, :cust_store),
  'the movements are stock in, assign, detach'
);
select results_eq(
  format('select store_id, state, parent_device_id from net.devices where id = %s', :cpe),
  format('values (%s::bigint, %L::text, null::bigint)', :wh, 'stock'),
  'the CPE is in stock in the warehouse and out of the topology'
);
select lives_ok(format('select net.move_device(%s, %s)', :cpe, :scrap), 'a broken CPE goes to scrap');
select is(
  (select state || '/' || (select kind from net.stock_movements where device_id = :cpe order by id desc limit 1)
     from net.devices where id = :cpe),
  'retired/stock_out', 'scrapping retires the device with a stock-out movement'
);

select * from finish();
rollback;
