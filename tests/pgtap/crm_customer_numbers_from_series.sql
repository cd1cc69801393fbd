-- A new customer gets its customer number and variable symbol from its operator's series, one
-- after another; each operator counts on its own; a customer without a series is refused.
begin;
select plan(7);

select tests.make_operator() as op_a \gset
select tests.make_operator() as op_b \gset
insert into crm.operators (code, name, vat_payer) values ('noseries', 'No Series', false) returning id as op_none \gset

call tests.as_staff('{sales}');
insert into crm.customers (operator_id, last_name) values (:op_a, 'První') returning id as c1 \gset
insert into crm.customers (operator_id, last_name) values (:op_a, 'Druhý') returning id as c2 \gset
insert into crm.customers (operator_id, last_name) values (:op_b, 'Jiný') returning id as c3 \gset

select is((select (customer_no, vs)::text from crm.customers where id = :c1), format('(%s-000001,%s00001)', :op_a, :op_a),
  'the first customer gets the first number and VS of the series');
select is((select (customer_no, vs)::text from crm.customers where id = :c2), format('(%s-000002,%s00002)', :op_a, :op_a),
  'the next customer gets the next ones');
select is((select (customer_no, vs)::text from crm.customers where id = :c3), format('(%s-000001,%s00001)', :op_b, :op_b),
  'another operator counts in its own series');
select is(
  (select array_agg(last_value order by s.kind) from crm.number_series_counters n
     join crm.number_series s on s.id = n.series_id where s.operator_id = :op_a),
  array[2::bigint, :op_a * 100000 + 2],
  'the counters hold the last numbers issued'
);
select lives_ok(
  format($$insert into crm.customers (operator_id, last_name, customer_no, vs) values (%s, 'Převedený', 'OLD-77', '77')$$, :op_a),
  'numbers taken over from an old system may be given explicitly');
select throws_ok(
  format($$insert into crm.customers (operator_id, last_name, vs) values (%s, 'Dvojník', '%s00001')$$, :op_a, :op_a),
  '23505', null, 'a VS is never given twice');
select throws_ok(
  format($$insert into crm.customers (operator_id, last_name) values (%s, 'Nikdo')$$, :op_none),
  'MG002', format('operator %s has no number series "customer"', :op_none), 'an operator without a series cannot number customers');

select * from finish();
rollback;
