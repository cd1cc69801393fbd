-- Call record imports (BIL-3): Asterisk's Master.csv into billing.calls, one transaction per file,
-- each file at most once (by the SHA-256 of its content), the lines it cannot read kept with their
-- number and the field at fault. `mango billing cdr import FILE` calls billing.import_cdrs; so can a
-- DBA from psql:
--
--   \set content `cat /var/log/asterisk/cdr-csv/Master.csv`
--   select * from billing.import_cdrs('Master.csv', :'content', (select id from crm.operators where code = 'demo'));
--
-- The layout, as Asterisk's cdr_csv module writes it (asterisk/asterisk, cdr/cdr_csv.c,
-- build_csv_record and append_string/append_int/append_date): one record per line, text fields in
-- double quotes with a quote doubled inside, numbers bare, a time that is not set as an empty
-- field, times as "%Y-%m-%d %T" in the PBX's local time (UTC with usegmtime=yes in cdr.conf [csv]).
-- The fields: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start,
-- answer, end, duration, billsec, disposition, amaflags; then uniqueid (loguniqueid=yes), userfield
-- (loguserfield=yes), and peeraccount, linkedid, sequence (newcdrcolumns=yes). So a record has 16,
-- 17, 18 or 21 fields; 17 is read as the uniqueid.
--
-- Numbers follow the Czech numbering plan (the product's first market): national numbers have nine
-- digits, the country code is 420, international calls are dialled with 00 or +.

create or replace function billing.e164(p_number text)
returns text
language sql immutable security invoker
as $$
  -- [inlined]: no `set search_path`, so that the planner inlines it into the import's statement.
  -- A subscriber number as E.164 ('+420602123456'), or null when it is none (an extension, a short
  -- number, a name): +… and 00… are international, 420 and nine digits too (trunks often present
  -- numbers so), nine digits are national.
  select case
           when d.digits ~ '^\+[1-9]\d{6,14}$' then d.digits
           when d.digits ~ '^00[1-9]\d{6,14}$' then '+' || pg_catalog.substr(d.digits, 3)
           when d.digits ~ '^420\d{9}$' then '+' || d.digits
           when d.digits ~ '^[2-9]\d{8}$' then '+420' || d.digits
         end
    from (select pg_catalog.regexp_replace(pg_catalog.btrim(p_number), '[^0-9+]', '', 'g') as digits) d;
$$;
comment on function billing.e164(text) is
'A subscriber number in E.164 (+420…) from what a PBX or a person writes, or null (Czech numbering plan). [inlined]';
revoke all on function billing.e164(text) from public;
grant execute on function billing.e164(text) to mango_billing, mango_support;

create or replace function billing.called_digits(p_dst text)
returns text
language sql immutable security invoker
as $$
  -- [inlined]: see billing.e164. The digits of a dialled number in international form, for the
  -- destination prefixes: +… and 00… as they are, anything else dialled nationally gets the country
  -- code (602123456 -> 420602123456, the short number 1188 -> 4201188); '' when it has no digits
  -- (the s extension of an incoming call, a feature code).
  select case
           when pg_catalog.btrim(p_dst) ~ '^\+' then d.digits
           when d.digits ~ '^00' then pg_catalog.substr(d.digits, 3)
           when d.digits = '' then ''
           else '420' || d.digits
         end
    from (select pg_catalog.regexp_replace(coalesce(p_dst, ''), '\D', '', 'g') as digits) d;
$$;
comment on function billing.called_digits(text) is
'The digits of a dialled number in international form (420… for national numbers) for prefix matching. [inlined]';
revoke all on function billing.called_digits(text) from public;
grant execute on function billing.called_digits(text) to mango_billing, mango_support;

create or replace function billing.cdr_time(p_text text)
returns timestamp
language sql immutable security invoker
as $$
  -- [inlined]: see billing.e164. A time as Asterisk writes it ('2026-11-02 14:05:09'), or null when
  -- the text is not one (a bad month, day or hour gives null instead of an error, so that one bad
  -- line does not stop the file).
  select case when p_text ~ '^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$' then
           case when pg_catalog.substr(p_text, 1, 4)::integer between 1900 and 2999
                     and pg_catalog.substr(p_text, 6, 2)::integer between 1 and 12 then
             case when pg_catalog.substr(p_text, 9, 2)::integer
                       between 1 and pg_catalog.date_part('day', pg_catalog.make_date(
                                       pg_catalog.substr(p_text, 1, 4)::integer,
                                       pg_catalog.substr(p_text, 6, 2)::integer, 1)
                                     + interval '1 month' - interval '1 day')
                       and pg_catalog.substr(p_text, 12, 2)::integer < 24
                       and pg_catalog.substr(p_text, 15, 2)::integer < 60
                       and pg_catalog.substr(p_text, 18, 2)::integer < 60 then
               pg_catalog.make_timestamp(pg_catalog.substr(p_text, 1, 4)::integer,
                                         pg_catalog.substr(p_text, 6, 2)::integer,
                                         pg_catalog.substr(p_text, 9, 2)::integer,
                                         pg_catalog.substr(p_text, 12, 2)::integer,
                                         pg_catalog.substr(p_text, 15, 2)::integer,
                                         pg_catalog.substr(p_text, 18, 2)::double precision)
             end
           end
         end;
$$;
comment on function billing.cdr_time(text) is
'A local time as Asterisk''s CDR writes it (YYYY-MM-DD HH:MM:SS), or null when the text is not a valid one. [inlined]';
revoke all on function billing.cdr_time(text) from public;

create or replace function billing.import_cdrs(
    p_file_name text, p_content text, p_operator_id bigint, p_time_zone text default null, p_os_user text default null,
    out import_id bigint, out already_imported boolean, out lines integer, out calls integer, out duplicates integer,
    out bad_lines integer
)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: call records and the import log are written only here. One call is one transaction: the
-- file's good lines go in, its bad lines are kept with their number, field and reason, and a file
-- whose content was imported before imports nothing (a concurrent import of the same content waits
-- for the first to end, then finds it). A record that an earlier file already brought (Master.csv
-- only grows, so each day's copy repeats the days before) is counted as a duplicate and skipped.
declare
  v_zone text;
  v_sha bytea;
  v_id bigint;
begin
  perform auth.require_role('billing');
  if p_operator_id is null or not exists (select from crm.operators o where o.id = p_operator_id) then
    raise exception 'which operator? there is no operator %', coalesce(p_operator_id::text, '(none given)')
      using errcode = 'MG850', column = 'operator';
  end if;
  if nullif(btrim(p_file_name), '') is null or length(p_file_name) > 500 then
    raise exception 'the file needs a name of at most 500 characters' using errcode = 'MG850', column = 'file_name';
  end if;
  if p_content is null then
    raise exception 'the file has no content' using errcode = 'MG850', column = 'file';
  end if;
  -- Times without a zone are the operator's (or the one given: UTC for usegmtime=yes).
  v_zone := crm.checked_time_zone(coalesce(p_time_zone, crm.business_zone(p_operator_id)));
  v_sha := sha256(convert_to(p_content, 'UTF8'));

  insert into billing.cdr_imports (operator_id, file_name, sha256, time_zone, os_user, db_role, user_id)
  values (p_operator_id, p_file_name, v_sha, v_zone, p_os_user, session_user, auth.user_id())
  on conflict (operator_id, sha256) do nothing
  returning id into v_id;
  if v_id is null then
    select i.id, true, i.lines, i.calls, i.duplicates, i.bad_lines
      into import_id, already_imported, lines, calls, duplicates, bad_lines
      from billing.cdr_imports i where i.operator_id = p_operator_id and i.sha256 = v_sha;
    return;
  end if;

  with raw as (
    select t.line_no::integer as line_no, rtrim(t.line, E'\r') as line
      from regexp_split_to_table(p_content, E'\n') with ordinality as t (line, line_no)
  ), records as (
    select r.line_no, r.line,
           length(r.line) <= 4000
           and r.line ~ '^("(?:[^"]|"")*"|[^,"]*)(,("(?:[^"]|"")*"|[^,"]*))*$' as well_formed
      from raw r
     where btrim(r.line) <> ''
  ), parsed as (
    -- Each field: a comma, then a quoted text (quotes doubled inside) or a bare value.
    select r.line_no, r.line, r.well_formed, f.fields
      from records r
      left join lateral (
        select array_agg(case when left(m.part[1], 1) = '"'
                              then replace(substr(m.part[1], 2, length(m.part[1]) - 2), '""', '"')
                              else m.part[1] end order by m.n) as fields
          from regexp_matches(',' || r.line, ',("(?:[^"]|"")*"|[^,"]*)', 'g') with ordinality as m (part, n)
      ) f on r.well_formed
  ), checked as (
    -- The first thing wrong with the line, if any: the checks are plain conditions (only checks
    -- that cannot fail themselves), the times read once, and the message built only for a bad
    -- line (formatting ten messages for every good line cost more than the rest of the import).
    select p.line_no, p.line, p.fields, t.start_local, t.answer_local, t.end_local, e.n,
           case e.n
             when 1 then 'the line is longer than 4,000 characters'
             when 2 then 'not a record of Master.csv: a quoted field is not closed or a quote stands inside a bare field'
             when 3 then format('%s fields; a record of Master.csv has 16 (17 with uniqueid, 18 with userfield, 21 with'
                                ' the newer columns)', cardinality(p.fields))
             when 4 then format('not a time (YYYY-MM-DD HH:MM:SS): "%s"', left(p.fields[10], 40))
             when 5 then format('not a time (YYYY-MM-DD HH:MM:SS): "%s"', left(p.fields[11], 40))
             when 6 then format('not a time (YYYY-MM-DD HH:MM:SS): "%s"', left(p.fields[12], 40))
             when 7 then format('not a whole number of seconds: "%s"', left(p.fields[13], 40))
             when 8 then format('not a whole number of seconds: "%s"', left(p.fields[14], 40))
             when 9 then format('not a disposition of Asterisk (ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION): "%s"',
                                left(p.fields[15], 40))
             when 10 then 'the call ends before it starts'
           end as message,
           case e.n when 4 then 'start' when 5 then 'answer' when 6 then 'end' when 7 then 'duration'
                    when 8 then 'billsec' when 9 then 'disposition' when 10 then 'end' end as field
      from parsed p
     cross join lateral (
       select billing.cdr_time(p.fields[10]) as start_local, billing.cdr_time(nullif(p.fields[11], '')) as answer_local,
              billing.cdr_time(p.fields[12]) as end_local
       offset 0
     ) t
     cross join lateral (
       -- A check whose condition is null counts as failed.
       select case
                when coalesce(not p.well_formed and length(p.line) > 4000, true) then 1
                when coalesce(not p.well_formed, true) then 2
                when coalesce(cardinality(p.fields) not in (16, 17, 18, 21), true) then 3
                when t.start_local is null then 4
                when coalesce(p.fields[11] <> '' and t.answer_local is null, true) then 5
                when t.end_local is null then 6
                when coalesce(p.fields[13] !~ '^\d{1,9}$', true) then 7
                when coalesce(p.fields[14] !~ '^\d{1,9}$', true) then 8
                when coalesce(p.fields[15] not in ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CONGESTION', 'NULL'),
                              true) then 9
                when t.end_local < t.start_local then 10
              end as n
     ) e
  ), errors as (
    insert into billing.cdr_import_errors (import_id, line_no, field, message, line)
    select v_id, c.line_no, c.field, c.message, left(c.line, 1000)
      from checked c
     where c.n is not null
    returning 1
  ), good as (
    select c.line_no, c.line, c.fields, c.start_local, c.answer_local, c.end_local from checked c where c.n is null
  ), stored as (
    insert into billing.calls (operator_id, import_id, line_no, line_key, accountcode, src, dst, dcontext, clid,
                               channel, dstchannel, lastapp, lastdata, start_at, answer_at, end_at, duration, billsec,
                               disposition, amaflags, uniqueid, account_number, calling_number, called_number)
    select p_operator_id, v_id, g.line_no, md5(g.line)::uuid, g.fields[1], g.fields[2], g.fields[3], g.fields[4],
           g.fields[5], g.fields[6], g.fields[7], g.fields[8], g.fields[9],
           g.start_local at time zone v_zone, g.answer_local at time zone v_zone, g.end_local at time zone v_zone,
           g.fields[13]::integer, g.fields[14]::integer, g.fields[15], g.fields[16],
           coalesce(g.fields[17], ''), billing.e164(g.fields[1]), billing.e164(g.fields[2]),
           billing.called_digits(g.fields[3])
      from good g
    on conflict (operator_id, line_key) do nothing
    returning start_at
  )
  update billing.cdr_imports i
     set lines = (select count(*) from records),
         bad_lines = (select count(*) from errors),
         calls = s.n,
         duplicates = (select count(*) from good) - s.n,
         first_call = s.first_call,
         last_call = s.last_call
    from (select count(*)::integer as n, min(x.start_at) as first_call, max(x.start_at) as last_call from stored x) s
   where i.id = v_id
  returning i.id, false, i.lines, i.calls, i.duplicates, i.bad_lines
       into import_id, already_imported, lines, calls, duplicates, bad_lines;
end;
$$;
comment on function billing.import_cdrs(text, text, bigint, text, text) is
'Import the text of an Asterisk Master.csv into billing.calls in one transaction, once per content; bad lines are kept
with their number and field.';
revoke all on function billing.import_cdrs(text, text, bigint, text, text) from public;
grant execute on function billing.import_cdrs(text, text, bigint, text, text) to mango_billing;

-- ---------------------------------------------------------------------------------------------
-- Row-level security and grants: billing imports, support reads what came in (a customer asking
-- about a call), nobody writes these tables but the import.

alter table billing.cdr_imports enable row level security;
alter table billing.cdr_import_errors enable row level security;
alter table billing.calls enable row level security;

drop policy if exists staff_select_all on billing.cdr_imports;
create policy staff_select_all on billing.cdr_imports for select to mango_staff using (true);
drop policy if exists staff_select_all on billing.cdr_import_errors;
create policy staff_select_all on billing.cdr_import_errors for select to mango_staff using (true);
drop policy if exists staff_select_all on billing.calls;
create policy staff_select_all on billing.calls for select to mango_staff using (true);

revoke all on table billing.cdr_imports, billing.cdr_import_errors, billing.calls from public;
grant select on table billing.cdr_imports, billing.cdr_import_errors, billing.calls to mango_billing, mango_support;
