-- What administrators see of data retention (the staff page /retention): the retention setting and
-- its log, the collector's counters per exporter and the NAT log imports (flow.nat_imports, granted
-- in 10_traffic.sql), the daily partitions as the catalogue describes them (flow.partitions reads
-- only pg_catalog). Nothing here lets an administrator read flow records, NAT events or lawful
-- cases: those tables grant them nothing, so they get a permission error (officers only).
-- Schema usage for mango_admin is in procedures/00_common/00_usage.sql.

grant execute on function flow.partition_day(text) to mango_admin;

drop policy if exists admin_select_all on flow.settings;
create policy admin_select_all on flow.settings for select to mango_staff using ((select auth.may('admin')));

drop policy if exists admin_select_all on flow.retention_log;
create policy admin_select_all on flow.retention_log for select to mango_staff using ((select auth.may('admin')));

drop policy if exists admin_select_all on flow.collector_status;
create policy admin_select_all on flow.collector_status for select to mango_staff using ((select auth.may('admin')));

grant select on flow.settings, flow.retention_log, flow.collector_status to mango_admin;

-- A change of the retention period is in the audit history of flow.settings, which officers read.
select audit.enable('flow.settings');
