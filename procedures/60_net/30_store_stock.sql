-- What each store holds (net.store_stock, 0011): kept exact by statement triggers on net.devices,
-- so the stores page and a store's summary read a few rows instead of counting every device.
-- Exact counts rather than estimates: a store's stock is an inventory figure. Triggers rather than
-- the daily job: a technician who receives devices sees them counted at once. The cost is one
-- upsert per store, model and state touched by a statement (a stock-in of many serial numbers is
-- one statement); devices move at the pace of people, so the counter rows are not contended.
-- Each statement upserts in (store, model, state) order, so two statements moving devices between
-- the same stores take their row locks in the same order and cannot deadlock.

create or replace function net.tg_devices__count_insert()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: net.store_stock is derived data that only these triggers write.
begin
  insert into net.store_stock as s (store_id, model_id, state, devices)
  select n.store_id, n.model_id, n.state, count(*)
    from new_rows n
   where n.store_id is not null
   group by n.store_id, n.model_id, n.state
   order by n.store_id, n.model_id, n.state
  on conflict (store_id, model_id, state) do update set devices = s.devices + excluded.devices;
  return null;
end;
$$;
comment on function net.tg_devices__count_insert() is 'Count inserted devices in their store''s stock.';
revoke all on function net.tg_devices__count_insert() from public;

create or replace function net.tg_devices__count_update()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: net.store_stock is derived data that only these triggers write.
begin
  insert into net.store_stock as s (store_id, model_id, state, devices)
  select d.store_id, d.model_id, d.state, sum(d.delta)
    from (select n.store_id, n.model_id, n.state, 1 as delta from new_rows n where n.store_id is not null
          union all
          select o.store_id, o.model_id, o.state, -1 from old_rows o where o.store_id is not null) d
   group by d.store_id, d.model_id, d.state
  having sum(d.delta) <> 0
   order by d.store_id, d.model_id, d.state
  on conflict (store_id, model_id, state) do update set devices = s.devices + excluded.devices;
  return null;
end;
$$;
comment on function net.tg_devices__count_update() is 'Move updated devices between their stores'' stock counts.';
revoke all on function net.tg_devices__count_update() from public;

create or replace function net.tg_devices__count_delete()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: net.store_stock is derived data that only these triggers write.
begin
  update net.store_stock s
     set devices = s.devices - o.devices
    from (select r.store_id, r.model_id, r.state, count(*) as devices
            from old_rows r
           where r.store_id is not null
           group by r.store_id, r.model_id, r.state) o
   where s.store_id = o.store_id and s.model_id is not distinct from o.model_id and s.state = o.state;
  return null;
end;
$$;
comment on function net.tg_devices__count_delete() is 'Take deleted devices out of their store''s stock count.';
revoke all on function net.tg_devices__count_delete() from public;

create or replace trigger _800_count_insert after insert on net.devices
referencing new table as new_rows
for each statement execute function net.tg_devices__count_insert();
create or replace trigger _800_count_update after update on net.devices
referencing new table as new_rows old table as old_rows
for each statement execute function net.tg_devices__count_update();
create or replace trigger _800_count_delete after delete on net.devices
referencing old table as old_rows
for each statement execute function net.tg_devices__count_delete();

alter table net.store_stock enable row level security;
drop policy if exists staff_select_all on net.store_stock;
create policy staff_select_all on net.store_stock for select to mango_staff using (true);
grant select on net.store_stock to mango_office;
