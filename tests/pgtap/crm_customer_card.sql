-- crm.customer_card: the header, the counts and one tab's rows, read as the caller. The web role
-- may name the function (it does so in the statement that switches to the user's role), but
-- without that switch it reads nothing.
begin;
select plan(12);

select tests.make_operator() as op \gset
select tests.make_customer(:op) as cust \gset
select tests.make_customer(:op, 'Dvořák') as empty \gset
select tests.make_tariff(400, :op) as net \gset
select tests.make_tariff(200, :op) as tv \gset
insert into catalog.bundles (operator_id, code, name) values (:op, 'duo', 'Duo') returning id as bundle \gset
insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent) values (:bundle, :net, 0), (:bundle, :tv, 50);
insert into crm.contacts (customer_id, kind, value, is_primary) values
  (:cust, 'email', 'second@example.cz', false), (:cust, 'email', 'jan@example.cz', true),
  (:cust, 'phone', '+420 601 123 456', false);

call tests.as_staff('{support}');
select crm.activate_bundle(:cust, :bundle, '2024-02-01') as ids \gset
select crm.customer_card(:cust) as card \gset

select is((:'card'::jsonb -> 'customer' ->> 'id')::bigint, :cust::bigint, 'the card is the customer''s');
select is(:'card'::jsonb -> 'customer' ->> 'email', 'jan@example.cz', 'the primary e-mail comes first');
select is(:'card'::jsonb -> 'customer' ->> 'phone', '+420601123456', 'the only phone, as stored (normalised)');
select is(:'card'::jsonb -> 'customer' -> 'counts', '{"services": 2, "places": 0, "contacts": 3, "contracts": 0,
  "orders": 0, "notes": 0}'::jsonb, 'the counts of every tab');
select is(jsonb_array_length(:'card'::jsonb -> 'rows'), 2, 'the services tab has both services');
select is((:'card'::jsonb -> 'customer' ->> 'monthly')::numeric, 500.00,
  'the monthly total is what the services cost after the bundle discount (400 + 200 less 50 %)');
select is((crm.customer_card(:cust, 'contacts') -> 'customer' ->> 'monthly')::numeric, 500.00,
  'another tab shows the same total');
select is(crm.customer_card(:empty) -> 'rows', '[]'::jsonb, 'a customer without services has no rows');
select ok(crm.customer_card(:cust, 'services', true) ? 'tariffs', 'the operator''s tariffs for the change-tariff form');
select throws_ok(format($$select crm.customer_card(%s, 'invoices')$$, :cust), 'MG001', null, 'an unknown tab is refused');
select is(crm.customer_card(-1), null, 'no customer, no card');
call tests.as_superuser();

set local role mango_web;
select throws_ok(format($$select crm.customer_card(%s)$$, :cust), '42501', null,
  'the web role itself reads no customer');
reset role;

select * from finish();
rollback;
