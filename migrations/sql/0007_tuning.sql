-- 0007 tuning: storage settings and indexes found by the benchmarks (bench/). Frozen once merged.
-- Written so that it can also run on a database where part of it is already there.

-- The bus outbox is a queue: every event is inserted, updated (claim, ack by revision) and deleted.
-- Free space on each page lets the updates stay on the page (HOT, no index entries), and a low
-- vacuum threshold keeps the dead rows of acknowledged events from piling up between vacuums.
alter table bus.events set (
    fillfactor = 70,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);

-- Customer search: ended customers are filtered in the search table itself, so that a search
-- sorts its matches and keeps the first page before reading any customer row.
alter table crm.customer_search add column if not exists ended boolean not null default false;
update crm.customer_search s
   set ended = true
  from crm.customers c
 where c.id = s.customer_id and c.state = 'ended' and not s.ended;

-- The MAC a device held at a moment (net.who_had for an address on a device).
create index if not exists mac_assignments_device_idx on net.mac_assignments (device_id)
where device_id is not null;
