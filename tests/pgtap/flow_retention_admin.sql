-- Administrators see what the data retention page needs (the period, its log, the collector's status,
-- NAT log imports, the daily partitions from the catalogue) and change the period, logged with who;
-- they still cannot read flow records, NAT events, daily traffic or lawful cases. Officers see the
-- same but cannot change the period; support sees none of it.
begin;
select plan(20);

select flow.create_partitions(1, 1);
insert into flow.collector_status (collector, exporter, received, stored, last_seen)
values ('pgtap', '192.0.2.77', 10, 10, now());

call tests.as_staff('{admin}');
select cmp_ok(flow.retention(), '>=', interval '1 day', 'an administrator reads the retention period');
select isnt_empty($$select key from flow.settings$$, 'an administrator reads the retention settings');
select lives_ok($$select count(*) from flow.retention_log$$, 'an administrator reads the retention log');
select isnt_empty(
    $$select exporter from flow.collector_status where collector = 'pgtap'$$,
    'an administrator reads the collector status'
);
select lives_ok($$select count(*) from flow.nat_imports$$, 'an administrator reads the NAT log imports');
select isnt_empty(
    $$select relname from flow.partitions() where parent = 'flows'$$,
    'an administrator lists the daily partitions'
);
select lives_ok($$select flow.set_retention(interval '7 months')$$, 'an administrator changes the period');
select throws_ok(
    $$select flow.set_retention(interval '12 hours')$$, 'MG701', null,
    'a period under a day is refused'
);
select throws_ok($$select count(*) from flow.flows$$, '42501', null, 'an administrator cannot read flows');
select throws_ok(
    $$select count(*) from flow.flows_default$$, '42501', null,
    'nor the flows outside the daily partitions'
);
select throws_ok($$select count(*) from flow.nat_events$$, '42501', null, 'nor NAT events');
select throws_ok($$select count(*) from flow.daily_traffic$$, '42501', null, 'nor the traffic per address');
select throws_ok($$select count(*) from flow.lawful_cases$$, '42501', null, 'nor lawful cases');
select throws_ok($$select count(*) from flow.lawful_queries$$, '42501', null, 'nor lawful queries');

call tests.as_superuser();
select is(
    (select db_role from flow.retention_log where kind = 'setting' order by id desc limit 1),
    'mango_as_admin',
    'the change is logged with the administrator''s role'
);
select matches(
    (select detail from flow.retention_log where kind = 'setting' order by id desc limit 1),
    '^retention period set \(was .*\) by ',
    'and names the user'
);

call tests.as_staff('{flow}');
select is(flow.retention(), interval '7 months', 'an officer reads the period');
select throws_ok(
    $$select flow.set_retention(interval '1 month')$$, '42501', null,
    'an officer cannot change the period'
);

call tests.as_superuser();
call tests.as_staff('{support}');
select throws_ok($$select count(*) from flow.retention_log$$, '42501', null, 'support cannot read the retention log');
select throws_ok($$select flow.retention()$$, '42501', null, 'nor the period');

select * from finish();
rollback;
