-- Activating a bundle creates one service per bundle item, in one step, marked with the bundle.
begin;
select plan(5);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_tariff(400, :op) as net \gset
select tests.make_tariff(200, :op) as tv \gset
select tests.make_tariff(100, :op) as phone \gset
insert into catalog.bundles (operator_id, code, name) values (:op, 'trio', 'Trio') returning id as bundle \gset
insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent) values (:bundle, :net, 10), (:bundle, :tv, 0),
  (:bundle, :phone, 50);

call tests.as_staff('{support}');
select crm.activate_bundle(:cust, :bundle, '2024-02-01') as ids \gset
select is(cardinality(:'ids'::bigint []), 3, 'one service per bundle item');
select results_eq(
  format($$select crm.current_tariff(s.id, '2024-02-01') from crm.services s where s.id = any(%L::bigint []) order by s.id$$, :'ids'),
  array[:net::bigint, :tv::bigint, :phone::bigint], 'each service has its item''s tariff, in the bundle''s order');
select is((select count(*)::integer from crm.services where id = any(:'ids'::bigint []) and bundle_id = :bundle
            and customer_id = :cust and state = 'active' and lower(valid) = '2024-02-01'),
  3, 'all run from the same date for the customer, marked with the bundle');
call tests.as_superuser();
update catalog.bundles set active = false where id = :bundle;
call tests.as_staff('{support}');
select throws_ok(format($$select crm.activate_bundle(%s, %s, '2024-03-01')$$, :cust, :bundle),
  'MG006', format('bundle %s does not exist or is not sold any more', :bundle), 'a bundle no longer sold cannot be activated');
select is((select count(*)::integer from crm.services where customer_id = :cust), 3, 'the refused bundle created nothing');

select * from finish();
rollback;
