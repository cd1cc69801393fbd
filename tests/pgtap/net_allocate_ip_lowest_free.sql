-- allocate_ip gives the lowest address of the pool that is free from the moment asked on, reuses
-- an address released before that moment, skips one taken by hand, and refuses when the pool is full (MG032).
begin;
select plan(10);

select tests.net_make_service() as s1 \gset
insert into net.prefixes (prefix, kind) values ('10.99.0.0/29', 'private') returning id as pfx \gset
insert into net.pools (prefix_id, name, first_address, last_address)
values (:pfx, 'test-alloc', '10.99.0.1', '10.99.0.6') returning id as pool \gset
insert into net.prefixes (prefix, kind) values ('2001:db8:4000::/48', 'customer') returning id as pfx6 \gset
insert into net.pools (prefix_id, name, first_address, last_address, assign_prefix_length, purpose)
values (:pfx6, 'test-pd', '2001:db8:4000::', '2001:db8:4000:ff00::', 56, 'delegation') returning id as pd \gset

call tests.as_staff('{support}');
select is(net.allocate_ip(:pool, :s1, null, '2024-01-01'), '10.99.0.1'::inet, 'the first allocation is the first address of the pool');
select is(net.allocate_ip(:pool, :s1, null, '2024-01-01'), '10.99.0.2'::inet, 'the next one is the next address');
select net.assign_ip('10.99.0.4', :s1, null, '2024-01-15') as by_hand \gset
select count(net.release_ip(id, '2024-02-01')) as released from net.ip_assignments
 where address = '10.99.0.1' and upper_inf(valid) \gset
select is(net.allocate_ip(:pool, :s1, null, '2024-02-01'), '10.99.0.1'::inet, 'a released address is free again from its release on');
select is(net.allocate_ip(:pool, :s1, null, '2024-02-01'), '10.99.0.3'::inet, 'then the lowest gap');
select is(net.allocate_ip(:pool, :s1, null, '2024-02-01'), '10.99.0.5'::inet, 'an address assigned by hand is skipped');
select is(net.allocate_ip(:pool, :s1, null, '2024-02-01'), '10.99.0.6'::inet, 'the last address of the pool is used');
select throws_ok(format('select net.allocate_ip(%s, %s)', :pool, :s1), 'MG032', 'pool test-alloc is full',
                 'a full pool refuses');
select throws_ok(format($$select net.allocate_ip(%s, %s, null, '2024-01-20')$$, :pool, :s1), 'MG032', null,
                 'an address released later is not free before its release');
select is(
  (select array_agg(net.allocate_ip(:pd, :s1)::text order by g) from generate_series(1, 2) g),
  array['2001:db8:4000::/56', '2001:db8:4000:100::/56'], 'a delegation pool hands out consecutive /56 prefixes'
);
select is(
  (select count(*)::integer from net.ip_assignments where pool_id = :pool and service_id = :s1), 7,
  'every allocation is recorded with its pool'
);

select * from finish();
rollback;
