-- An export of a lawful query's answer is recorded (part, rows, SHA-256 of exactly the file handed
-- over, who) and audited; the answer is a snapshot, so exporting it again after the raw flows and
-- NAT events are gone gives the same file.
begin;
select plan(11);

select * from tests.lawful_scenario(4) \gset

call tests.as_staff('{flow}');
select flow.open_case('KRPB-400/TČ-2025', 'Policie ČR', '§ 88a trestního řádu') as case_id \gset
select flow.run_address_query(:case_id, :'pub', 1500, tstzrange(:'t0', :'t0'::timestamptz + interval '1 hour')) as q
\gset

select string_agg(line || e'\r\n', '' order by line_no) as file from flow.export_query(:q, 'subscribers') \gset
select is(
    split_part(:'file', e'\r\n', 1),
    'source,connection_type,customer_no,customer_name,contract_no,service_id,service,mac,connection_start,'
    || 'connection_end,access_point,access_point_site,ip_address,port,private_ip,private_port,public_ip,'
    || 'public_port_or_range,protocol,nat_start,nat_end',
    'the file starts with a header line'
);
select matches(
    split_part(:'file', e'\r\n', 2),
    '^nat,fixed wireless access,[^,]+,Jan Novák,SM-LAW-4,[0-9]+,[^,]+,00:11:22:33:04:01,2024-01-10T[0-9:]+[+-][0-9:]+,,'
    || 'law-ap-4,,198\.18\.4\.1,1500,100\.127\.4\.5,,198\.18\.4\.1,1024-2047,,[0-9T:-]+[+-][0-9:]+,[0-9T:-]+[+-][0-9:]+$',
    'then the subscriber''s row: times in ISO 8601 with their offset, the port block as a range'
);
select results_eq(
    format($$select part, format, row_count, exported_by from flow.lawful_exports where query_id = %s$$, :q),
    format($$values ('subscribers'::text, 'csv'::text, 1, %s::bigint)$$,
           (select id from auth.users where username = 'test_flow')),
    'the export is recorded: part, format, rows and who'
);
select is(
    (select sha256 from flow.lawful_exports where query_id = :q),
    encode(sha256(convert_to(:'file', 'UTF8')), 'hex'),
    'with the SHA-256 of the file: the lines, each ended by CRLF, in UTF-8'
);
select is(
    (select count(*)::integer from tests.my_audit('flow.lawful_exports') where operation = 'insert'), 1,
    'the export is in the audit history'
);
select is(
    (select (new_values ->> 'exported_by')::bigint = user_id from tests.my_audit('flow.lawful_exports')), true,
    'as done by the officer'
);

select lives_ok(
    format($$select * from flow.export_query(%s, 'flows')$$, :q), 'the flows export separately'
);
select is(
    (select row_count from flow.lawful_exports where query_id = :q and part = 'flows'), 2,
    'with their own row count'
);

-- The raw records are destroyed (as the purge does after the retention period).
call tests.as_superuser();
delete from flow.flows where src_addr = :'pub'::inet or dst_addr = :'pub'::inet;
delete from flow.nat_events where post_src_addr = :'pub'::inet;
call tests.as_staff('{flow}');
select count(*) as again from flow.export_query(:q, 'subscribers') \gset
select results_eq(
    format($$select sha256 from flow.lawful_exports where query_id = %s and part = 'subscribers' order by id$$, :q),
    format($$values (%L::text), (%L::text)$$, encode(sha256(convert_to(:'file', 'UTF8')), 'hex'),
           encode(sha256(convert_to(:'file', 'UTF8')), 'hex')),
    'exported again after the raw records are gone, the file is the same'
);

select is(
    flow.csv_line(array['a,b', 'say "hi"', null, 'x', e'two\nlines']),
    '"a,b","say ""hi""",,x,"two' || e'\n' || 'lines"',
    'fields with a comma, a quote or a line break are quoted'
);
select throws_ok(
    format($$select * from flow.export_query(%s, 'everything')$$, :q), 'MG723', null, 'an unknown part is refused'
);

select * from finish();
rollback;
