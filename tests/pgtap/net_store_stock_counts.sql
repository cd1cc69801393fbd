-- A store's stock (net.store_stock) is exactly what a count of its devices says, per model and
-- state, after single and many-row inserts, moves, state changes, model changes and deletes; and
-- nobody on the staff can write the counts themselves.
begin;
select plan(9);

create temporary view truth as
select store_id, model_id, state, count(*) as devices from net.devices where store_id is not null group by 1, 2, 3;
create temporary view kept as
select store_id, model_id, state, devices from net.store_stock where devices <> 0;

select tests.net_store('warehouse', 'stock-w1') as w1 \gset
select tests.net_store('technician', 'stock-car1') as car \gset
insert into net.device_models (manufacturer, model, kind) values ('Stock', 'm1', 'cpe') returning id as m1 \gset
insert into net.device_models (manufacturer, model, kind) values ('Stock', 'm2', 'cpe') returning id as m2 \gset

call tests.as_staff('{technician}');
select net.stock_in(:w1, :m1, 'STK-' || g) from generate_series(1, 5) g;
insert into net.devices (name, model_id, role, state, store_id)
select 'stock-bulk-' || g, case when g % 2 = 0 then :m1 else :m2 end, 'customer', 'stock', :w1
  from generate_series(1, 40) g;
insert into net.devices (name, role, state, store_id) values ('stock-no-model', 'customer', 'stock', :w1);
call tests.as_superuser();
select set_eq('select * from kept', 'select * from truth', 'stock in, one and many rows (and no model), is counted');
select is((select sum(devices) from net.store_stock where store_id = :w1), 46::numeric, 'the warehouse holds 46');
call tests.as_staff('{technician}');

update net.devices set state = 'faulty' where store_id = :w1 and name like 'stock-bulk-1%';
call tests.as_superuser();
select set_eq('select * from kept', 'select * from truth', 'a state change moves devices between counts');
call tests.as_staff('{technician}');

select net.move_device(d.id, :car) from net.devices d where d.serial_no in ('STK-1', 'STK-2');
update net.devices set store_id = :car where name like 'stock-bulk-2%';
call tests.as_superuser();
select set_eq('select * from kept', 'select * from truth', 'moves to another store are counted on both sides');
call tests.as_staff('{technician}');

update net.devices set model_id = :m2 where serial_no = 'STK-3';
update net.devices set note = 'no count changes' where store_id = :car;
call tests.as_superuser();
select set_eq('select * from kept', 'select * from truth', 'a model change and an unrelated change are counted right');

delete from net.stock_movements where device_id in (select id from net.devices where name like 'stock-bulk-3%');
delete from net.devices where name like 'stock-bulk-3%';
update net.devices set store_id = null where name = 'stock-no-model';
select set_eq('select * from kept', 'select * from truth', 'deleted devices and devices taken out of stores leave the counts');

call tests.as_staff('{technician}');
select throws_ok(
  format('update net.store_stock set devices = 1000 where store_id = %s', :w1), '42501', null,
  'a technician cannot write the counts'
);
call tests.as_staff('{support}');
select ok((select count(*) from net.store_stock where store_id = :w1) > 0, 'the office reads the counts');
select throws_ok(
  format('insert into net.store_stock (store_id, state, devices) values (%s, ''stock'', 5)', :w1), '42501', null,
  'support cannot add to them'
);

select * from finish();
rollback;
