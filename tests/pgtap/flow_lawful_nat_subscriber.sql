-- A lawful query by public NAT address and port names the subscriber whose private address was
-- translated to that port (in a port block or a single-port translation) at that time, with the
-- legally required fields; an address held directly names its holder; the flow records of the
-- address and port come in time order.
begin;
select plan(19);

select * from tests.lawful_scenario(2) \gset
select tstzrange(:'t0', :'t0'::timestamptz + interval '1 hour') as hour \gset

-- A translation that began ten days before the period (further than the look-around) and ended
-- in it: only its delete event is seen.
insert into flow.nat_events (exporter, event_time, nat_event, src_addr, post_src_addr, port_range_start, port_range_end)
values ('10.0.0.1', :'t0'::timestamptz - interval '10 days', 14, :'priv1', :'pub', 8192, 9215),
       ('10.0.0.1', :'t0'::timestamptz + interval '30 minutes', 15, :'priv1', :'pub', 8192, 9215);
-- A port block in RFC 8158 numbering (16 allocation, 17 de-allocation) with an interim record that
-- says it is still allocated, and an alarm ("ports exhausted") that names only the public address.
insert into flow.nat_events (exporter, event_time, nat_event, src_addr, post_src_addr, port_range_start, port_range_end)
values ('10.0.0.2', :'t0'::timestamptz - interval '1 hour', 16, :'priv2', :'pub', 12288, 13311),
       ('10.0.0.2', :'t0'::timestamptz, 16, :'priv2', :'pub', 12288, 13311),
       ('10.0.0.2', :'t0'::timestamptz + interval '90 minutes', 17, :'priv2', :'pub', 12288, 13311),
       ('10.0.0.2', :'t0'::timestamptz + interval '5 minutes', 12, null, :'pub', null, null);

call tests.as_staff('{flow}');

select results_eq(
    format($$select source, customer_id, private_ip, public_ip, public_port_first, public_port_last, nat_start, nat_end
               from flow.lawful_subscribers(%L, 1500, %L)$$, :'pub', :'hour'),
    format($$values ('nat'::text, %s::bigint, %L::inet, %L::inet, 1024, 2047, %L::timestamptz - interval '2 hours',
                     %L::timestamptz + interval '2 hours')$$, :c1, :'priv1', :'pub', :'t0', :'t0'),
    'public address and port in a port block: the subscriber whose private address had the block then'
);
select results_eq(
    format($$select connection_type, customer_no, customer_name, contract_no, service_id, mac, access_point,
                    connection_start, ip_address, port
               from flow.lawful_subscribers(%L, 1500, %L)$$, :'pub', :'hour'),
    format($$values ('fixed wireless access'::text, (select customer_no from crm.customers where id = %s),
                     'Jan Novák'::text, 'SM-LAW-2'::text, %s::bigint, '00:11:22:33:02:01'::text, 'law-ap-2'::text,
                     '2024-01-10'::timestamptz, %L::inet, 1500)$$, :c1, :s1, :'pub'),
    'the row has the legally required fields: connection type, subscriber, account, MAC, access point, start, IP and port'
);
select results_eq(
    format($$select customer_id, public_port_first, public_port_last, nat_end from flow.lawful_subscribers(%L, 2100, %L)$$,
           :'pub', :'hour'),
    format($$values (%s::bigint, 2048, 3071, null::timestamptz)$$, :c2),
    'a port of the other block names the other subscriber; no delete logged: the translation has no end'
);
select results_eq(
    format($$select customer_id, private_ip, private_port, public_port_first, protocol, nat_start, nat_end
               from flow.lawful_subscribers(%L, 4000, %L)$$, :'pub', :'hour'),
    format($$values (%s::bigint, %L::inet, 51000, 4000, 6::smallint, %L::timestamptz + interval '10 minutes',
                     %L::timestamptz + interval '20 minutes')$$, :c2, :'priv2', :'t0', :'t0'),
    'a single-port translation: private address and port, start and end from its create and delete events'
);
select is_empty(
    format($$select 1 from flow.lawful_subscribers(%L, 4000, tstzrange(%L::timestamptz + interval '21 minutes',
                                                                        %L::timestamptz + interval '1 hour'))$$,
           :'pub', :'t0', :'t0'),
    'after that translation was deleted nobody had the port'
);
select is_empty(
    format($$select 1 from flow.lawful_subscribers(%L, 1500, tstzrange(%L::timestamptz + interval '3 hours',
                                                                        %L::timestamptz + interval '4 hours'))$$,
           :'pub', :'t0', :'t0'),
    'after the port block was released nobody had its ports'
);
select results_eq(
    format($$select nat_start, nat_end, customer_id from flow.lawful_subscribers(%L, 8500, %L)$$, :'pub', :'hour'),
    format($$values (null::timestamptz, %L::timestamptz + interval '30 minutes', %s::bigint)$$, :'t0', :c1),
    'a translation that began before the look-around is found by its delete event, its start unknown'
);
select results_eq(
    format($$select customer_id, nat_start, nat_end from flow.lawful_subscribers(%L, 12300, %L)$$, :'pub', :'hour'),
    format($$values (%s::bigint, %L::timestamptz - interval '1 hour', %L::timestamptz + interval '90 minutes')$$,
           :c2, :'t0', :'t0'),
    'a port block allocated, reported again while held and released is one translation'
);
select is_empty(
    format($$select 1 from flow.lawful_subscribers(%L, 13400, %L)$$, :'pub', :'hour'),
    'an alarm that names only the public address is no translation'
);
select is(
    (select count(*)::integer from flow.lawful_subscribers(:'pub', null, :'hour')), 5,
    'without a port: every translation of the public address during the period'
);
select results_eq(
    format($$select source, customer_id, ip_address, port, private_ip from flow.lawful_subscribers(%L, 443, %L)$$,
           :'direct', :'hour'),
    format($$values ('assignment'::text, %s::bigint, %L::inet, 443, null::inet)$$, :c1, :'direct'),
    'an address held directly names its holder, with the port asked about'
);
select is_empty(
    format($$select 1 from flow.lawful_subscribers('198.19.2.11', null, %L)$$, :'hour'),
    'an address nobody held names nobody'
);

select results_eq(
    format($$select direction, src_addr, src_port, dst_addr, dst_port, bytes from flow.lawful_flows(%L, 1500, %L, 10)$$,
           :'pub', :'hour'),
    format($$values ('from'::text, %L::inet, 1500, '192.0.2.80'::inet, 443, 1000::bigint),
                    ('to'::text, '192.0.2.80'::inet, 443, %L::inet, 1500, 50000::bigint)$$, :'pub', :'pub'),
    'the flows from and to the public address and port, in time order'
);
select is(
    (select count(*)::integer from flow.lawful_flows(:'pub', 1500, :'hour', 1)), 1, 'at most the limit of flows'
);
select is_empty(
    format($$select 1 from flow.lawful_flows(%L, 1501, %L, 10)$$, :'pub', :'hour'),
    'another port of the same address has other flows'
);
select is(
    (select count(*)::integer
       from flow.lawful_flows(:'pub', null, tstzrange(:'t0'::timestamptz + interval '5 minutes 30 seconds',
                                                      :'t0'::timestamptz + interval '1 hour'), 10)), 2,
    'a flow that began before the window and lasted into it is in the answer'
);

select throws_ok(
    format($$select * from flow.lawful_subscribers(%L, 70000, %L)$$, :'pub', :'hour'),
    'MG722', 'a port is a number from 0 to 65535 (got 70000)', 'a port out of range is refused'
);
select throws_ok(
    format($$select * from flow.lawful_flows(%L, null, tstzrange(%L, null), 10)$$, :'pub', :'t0'),
    'MG722', 'give the period as a start and an end, the end after the start', 'an open period is refused'
);
select throws_ok(
    format($$select * from flow.lawful_subscribers(null, null, %L)$$, :'hour'),
    'MG722', 'give the IP address the request is about', 'a request without an address is refused'
);

select * from finish();
rollback;
