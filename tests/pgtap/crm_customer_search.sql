-- Customer search (CRM-6) finds a customer by surname typed without diacritics, part of a street,
-- phone with or without +420, variable symbol and e-mail; ended customers only on request.
begin;
select plan(15);

select tests.make_operator() as op \gset
select tests.make_customer(:op, 'Žlutoučký', 'Kůň') as horse \gset
insert into crm.customers (operator_id, first_name, last_name, street, house_no, city, zip)
values (:op, 'Petra', 'Černá', 'Na Příkopě', '7', 'Ostrava', '70200') returning id as petra, vs as petra_vs \gset
insert into crm.contacts (customer_id, kind, value) values
  (:petra, 'phone', '777 123 456'), (:petra, 'email', 'Petra.Cerna@Example.CZ');
select tests.make_customer(:op, 'Konec', 'Karel') as gone \gset
update crm.customers set state = 'ended', ended_on = current_date where id = :gone;

call tests.as_staff('{support}');
select results_eq(format($$select id from crm.search_customers('zlutoucky') where id in (%s, %s)$$, :horse, :petra),
  array[:horse::bigint], 'a surname typed without diacritics finds the customer');
select results_eq(format($$select id from crm.search_customers('PŘÍKOP') where id in (%s, %s)$$, :horse, :petra),
  array[:petra::bigint], 'part of a street, in any case, finds the customer');
select results_eq(format($$select id from crm.search_customers('777123456') where id in (%s, %s)$$, :horse, :petra),
  array[:petra::bigint], 'a phone number without +420 finds the customer');
select results_eq(format($$select id from crm.search_customers('+420777123456') where id in (%s, %s)$$, :horse, :petra),
  array[:petra::bigint], 'a phone number with +420 finds the customer');
select results_eq(format($$select id from crm.search_customers('777 123 456') where id in (%s, %s)$$, :horse, :petra),
  array[:petra::bigint], 'a phone number written in groups finds the customer');
select results_eq(format($$select id from crm.search_customers(%L)$$, :'petra_vs'),
  array[:petra::bigint], 'the variable symbol finds exactly the customer');
select results_eq(format($$select id from crm.search_customers('petra.cerna@example') where id in (%s, %s)$$, :horse, :petra),
  array[:petra::bigint], 'part of an e-mail finds the customer');
select results_eq(format($$select id from crm.search_customers('cerna ostrava') where id in (%s, %s)$$, :horse, :petra),
  array[:petra::bigint], 'every word must match: name and city together');
select is_empty(format($$select id from crm.search_customers('cerna praha') where id in (%s, %s)$$, :horse, :petra),
  'a word that does not match excludes the customer');
select is_empty(format($$select id from crm.search_customers('konec') where id = %s$$, :gone),
  'an ended customer is hidden');
select results_eq(format($$select id from crm.search_customers('konec', p_include_ended => true) where id = %s$$, :gone),
  array[:gone::bigint], 'an ended customer is found on request');

insert into crm.contacts (customer_id, kind, value) values (:horse, 'phone', '+420 603 999 888');
select results_eq(format($$select id from crm.search_customers('603999888') where id in (%s, %s)$$, :horse, :petra),
  array[:horse::bigint], 'a contact added later is found at once');

select is_empty(format($$select id from crm.search_customers('100%%') where id in (%s, %s)$$, :horse, :petra),
  'a %% in the query is a character, not a wildcard');
call tests.as_superuser();
update crm.customers set street = 'Stránkovací' where id in (:horse, :petra);
call tests.as_staff('{support}');
select results_eq($$select id from crm.search_customers('strankovaci', p_limit => 1)$$,
  array[:petra::bigint], 'the first page holds the first customer in name order');
select results_eq(
  format($$select id from crm.search_customers('strankovaci', %L, %s, 50)$$,
         (select sort_name from crm.customer_search where customer_id = :petra), :petra),
  array[:horse::bigint], 'the next page starts after the last row of the previous one');

select * from finish();
rollback;
