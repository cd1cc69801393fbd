-- A lawful query by customer and period answers with every address the customer held then (only
-- while held), the NAT translations of those addresses and their flows; the query and its answer
-- are kept. A period older than the retention period is answered and marked: its flows were
-- destroyed. Closed cases and unknown customers are refused.
begin;
select plan(12);

select * from tests.lawful_scenario(3) \gset
-- Novák's public address was taken back at t0.
select net.release_ip((select id from net.ip_assignments where address = :'direct'::inet), :'t0') is null as released \gset
select tstzrange(:'t0'::timestamptz - interval '1 day', :'t0'::timestamptz + interval '1 day') as days \gset

call tests.as_staff('{flow}');
select flow.open_case('KRPB-300/TČ-2025', 'Policie ČR', '§ 88a trestního řádu') as case_id \gset

select flow.run_customer_query(:case_id, :c2, :'days') as q2 \gset
select results_eq(
    format($$select kind, customer_id, subscriber_rows, nat_rows, flow_rows, flows_truncated
               from flow.lawful_queries where id = %s$$, :q2),
    format($$values ('customer'::text, %s::bigint, 3, 2, 1, false)$$, :c2),
    'the query is kept with its counts: one address, two translations of it, one flow'
);
select results_eq(
    format($$select r.data ->> 'source', r.data ->> 'private_ip', r.data ->> 'public_ip', r.data ->> 'public_port_first',
                    r.data ->> 'public_port_last', r.data ->> 'customer_name'
               from flow.lawful_results r where r.query_id = %s and r.part = 'subscribers' order by r.position$$, :q2),
    format($$values ('assignment', null, null, null, null, 'Eva Svobodová'),
                    ('nat', %L, %L, '2048', '3071', 'Eva Svobodová'),
                    ('nat', %L, %L, '4000', '4000', 'Eva Svobodová')$$,
           host(:'priv2'::inet), host(:'pub'::inet), host(:'priv2'::inet), host(:'pub'::inet)),
    'the answer: her address, then her port block and her single-port translation on the public address'
);
select results_eq(
    format($$select r.data ->> 'src_addr', r.data ->> 'src_port', r.data ->> 'direction'
               from flow.lawful_results r where r.query_id = %s and r.part = 'flows' order by r.position$$, :q2),
    format($$values (%L, '51000', 'from')$$, host(:'priv2'::inet)),
    'and the flows of her address'
);

select flow.run_customer_query(:case_id, :c1, :'days') as q1 \gset
select results_eq(
    format($$select r.data ->> 'source', r.data ->> 'ip_address', (r.data ->> 'connection_end')::timestamptz
               from flow.lawful_results r where r.query_id = %s and r.part = 'subscribers' order by r.position$$, :q1),
    format($$values ('assignment', %L, null::timestamptz), ('assignment', %L, %L::timestamptz),
                    ('nat', %L, null::timestamptz)$$,
           host(:'priv1'::inet), host(:'direct'::inet), :'t0', host(:'priv1'::inet)),
    'the other customer: both addresses he held during the period, the public one until it was taken back'
);
select is(
    (select count(*)::integer from flow.lawful_results r
      where r.query_id = :q1 and r.data ->> 'customer_id' <> :'c1'), 0,
    'nothing of another customer is in a customer''s answer'
);

select flow.run_customer_query(:case_id, :c1, tstzrange(now() - interval '8 months', now() - interval '7 months'))
       as q_old \gset
select ok(
    (select lower(period) < retained_from and flow_rows = 0 and retention = flow.retention()
       from flow.lawful_queries where id = :q_old),
    'a period before the retention period is answered and marked: its flows were destroyed'
);

select lives_ok(
    format($$select flow.run_address_query(%s, %L, 1500, tstzrange(%L, %L::timestamptz + interval '1 hour'))$$,
           :case_id, :'pub', :'t0', :'t0'),
    'a query by address and port for the same case'
);
select is(
    (select count(*)::integer from flow.lawful_queries where case_id = :case_id), 4,
    'every query of the case is kept'
);
select throws_ok(
    format($$select flow.run_customer_query(%s, -1, %L)$$, :case_id, :'days'),
    'MG722', 'there is no such customer', 'an unknown customer is refused'
);
select throws_ok(
    format($$select flow.run_address_query(%s, %L, null, %L, 0)$$, :case_id, :'pub', :'days'),
    'MG722', null, 'a limit of flows below one is refused'
);

select flow.close_case(:case_id, 'answered') is null as closed \gset
select throws_ok(
    format($$select flow.run_customer_query(%s, %s, %L)$$, :case_id, :c1, :'days'),
    'MG721', null, 'a closed case takes no more queries'
);
select is(
    (select count(*)::integer from tests.my_audit('flow.lawful_queries') where operation = 'insert'), 4,
    'every query is in the audit history'
);

select * from finish();
rollback;
