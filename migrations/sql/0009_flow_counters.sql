-- 0009 flow counters: what the flow collector could not store (sets before their template,
-- sequence gaps, unreadable time stamps, rejected spool files). Frozen once merged.
-- The collector writes these with the other counters of its status row (agents/flowcollector);
-- the data retention page shows them per exporter.

alter table flow.collector_status
add column if not exists rejected bigint not null default 0,
add column if not exists unknown_sets bigint not null default 0,
add column if not exists unreadable_times bigint not null default 0,
add column if not exists sequence_gaps bigint not null default 0,
add column if not exists sequence_missing bigint not null default 0;

comment on table flow.collector_status is
'Counters per collector and exporter: flows received, stored, dropped, spooled, rejected; malformed
datagrams, data sets before their template, unreadable times, gaps in the exporter''s sequence numbers.
[not audited: status]';
comment on column flow.collector_status.rejected is
'Records the database refused (a batch or a spool file), kept in the spool''s rejected folder.';
comment on column flow.collector_status.unknown_sets is
'Data sets dropped because their template was not known (yet): sent before the template, or after its
withdrawal. Their records cannot be counted.';
comment on column flow.collector_status.unreadable_times is
'Records whose start or end time could not be read (none sent, or in a form not known): stored with the
export time.';
comment on column flow.collector_status.sequence_gaps is
'Jumps forward in the sequence numbers of the export headers: datagrams lost before the collector (or
reordered).';
comment on column flow.collector_status.sequence_missing is
'What the jumps skipped, in what the version counts: flows (v5), export packets (v9), data records
(IPFIX).';
