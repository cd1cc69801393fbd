-- Data volume over the tariff's cap (tariff parameters data_cap_gb per period and
-- data_price_per_gb): the flow collector's daily traffic per service (crm.customer_traffic, in
-- and out) of the period's days, less the cap pro-rated like the fee (billing.included_shares),
-- each started GB (10^9 bytes) at the price: one usage line 'data' per service and period.
begin;
select plan(7);

select tests.make_operator() as op \gset
select tests.make_usage_tariff(:op, '{"data_cap_gb": "50", "data_price_per_gb": "20"}') as capped \gset
select tests.make_usage_tariff(:op) as unlimited \gset
select tests.make_customer(:op, 'Novák', 'Jan') as jan \gset
select tests.make_customer(:op, 'Svobodová', 'Eva') as eva \gset
select tests.make_customer(:op, 'Dvořák', 'Petr') as petr \gset
select tests.make_customer(:op, 'Malá', 'Ida') as ida \gset
select tests.make_customer(:op, 'Zelený', 'Adam') as adam \gset
select crm.activate_service(:jan, :capped, '2026-01-01', null, '{"state": "active"}') as s_over \gset
select crm.activate_service(:eva, :capped, '2026-01-01', null, '{"state": "active"}') as s_at_cap \gset
select crm.activate_service(:petr, :capped, '2026-11-16', null, '{"state": "active"}') as s_late \gset
select crm.activate_service(:ida, :capped, '2026-01-01', null, '{"state": "active"}') as s_edges \gset
select crm.activate_service(:adam, :unlimited, '2026-01-01', null, '{"state": "active"}') as s_unlimited \gset

insert into crm.customer_traffic (day, customer_id, service_id, bytes_in, bytes_out) values
  -- 52.3 GB: 2.3 GB over, three started GB.
  ('2026-11-03', :jan, :s_over, 30000000000, 1000000000),
  ('2026-11-20', :jan, :s_over, 20000000000, 1300000000),
  -- exactly the cap
  ('2026-11-10', :eva, :s_at_cap, 49000000000, 1000000000),
  -- from the 16th: 50 × 15/30 = 25 GB; 26 GB is one over
  ('2026-11-20', :petr, :s_late, 25500000000, 500000000),
  -- 40 GB in November; the days around it are other periods'
  ('2026-10-31', :ida, :s_edges, 30000000000, 0),
  ('2026-11-15', :ida, :s_edges, 40000000000, 0),
  ('2026-12-01', :ida, :s_edges, 30000000000, 0),
  ('2026-11-15', :adam, :s_unlimited, 900000000000, 0);

call tests.as_superuser();
create temporary table u (service_id bigint, key text, description text, quantity numeric, unit text, amount numeric,
                          price_mode text, vat_class text, covered daterange);
grant insert, select on u to public;
call tests.as_staff('{billing}');
insert into u select * from billing.usage_charges(:op, '[2026-11-01,2026-12-01)') where key = 'data';

select is((select (description, quantity, unit, amount, price_mode)::text from u where service_id = :s_over),
  '("Data nad limit 11/2026: 3 GB",3,GB,60.00,with_vat)', '52.3 GB over a 50 GB cap: 3 started GB × 20.00');
select is((select count(*)::integer from u where service_id = :s_at_cap), 0, 'exactly the cap: nothing');
select is((select (quantity, amount)::text from u where service_id = :s_late), '(1,20.00)',
  'started on the 16th: a cap of 25 GB, 26 GB used, one GB over');
select is((select count(*)::integer from u where service_id = :s_edges), 0,
  'the traffic of 31 October and 1 December is not November''s');
select is((select count(*)::integer from u where service_id = :s_unlimited), 0, 'a tariff without a cap: nothing');
select is((select count(*)::integer from u), 2, 'two data lines');

call tests.as_staff('{support}');
select throws_ok(format('select * from billing.usage_charges(%s, ''[2026-11-01,2026-12-01)'')', :op), '42501', null,
  'support cannot compute usage charges');

select * from finish();
rollback;
