-- IČO is checked by its check digit, DIČ by its form (a company's CZ DIČ by its IČO's check digit);
-- both are normalised (spaces removed, upper case).
begin;
select plan(9);

select tests.make_operator() as op \gset
call tests.as_staff('{support}');

select throws_ok(
  format($$insert into crm.customers (operator_id, kind, company_name, ico) values (%s, 'company', 'Bad s.r.o.', '12345678')$$, :op),
  'MG001', 'IČO 12345678 is not valid: it must have 8 digits and a right check digit', 'a wrong check digit is refused');
select throws_ok(
  format($$insert into crm.customers (operator_id, kind, company_name, ico) values (%s, 'company', 'Bad s.r.o.', '1234567')$$, :op),
  'MG001', 'IČO 1234567 is not valid: it must have 8 digits and a right check digit', 'seven digits are refused');
select throws_ok(
  format($$insert into crm.customers (operator_id, kind, company_name, dic) values (%s, 'company', 'Bad s.r.o.', 'CZ12')$$, :op),
  'MG001', 'DIČ CZ12 is not valid: expected CZ and 8 to 10 digits', 'a short DIČ is refused');
select throws_ok(
  format($$insert into crm.customers (operator_id, kind, company_name, dic) values (%s, 'company', 'Bad s.r.o.', 'CZ12345678')$$, :op),
  'MG001', 'DIČ CZ12345678 is not valid: expected CZ and 8 to 10 digits', 'a company DIČ with a wrong IČO check digit is refused');
select lives_ok(
  format($$insert into crm.customers (operator_id, kind, company_name, ico, dic)
           values (%s, 'company', 'Dobrá s.r.o.', '255 96 641', 'cz 25596641')$$, :op),
  'a valid IČO and DIČ written with spaces and lower case are accepted');
select is((select (ico, dic)::text from crm.customers where company_name = 'Dobrá s.r.o.'), '(25596641,CZ25596641)',
  'they are stored without spaces, DIČ in upper case');
select lives_ok(
  format($$insert into crm.customers (operator_id, kind, first_name, last_name, dic) values (%s, 'person', 'Jana', 'Malá', 'CZ8555071234')$$, :op),
  'a person''s ten-digit DIČ is accepted');
select lives_ok(
  format($$insert into crm.customers (operator_id, kind, company_name, dic) values (%s, 'company', 'Müller GmbH', 'DE123456789')$$, :op),
  'another EU VAT number is accepted');
select throws_ok(
  format($$update crm.customers set ico = '25596642' where company_name = 'Dobrá s.r.o.'$$),
  'MG001', 'IČO 25596642 is not valid: it must have 8 digits and a right check digit', 'an edit is checked too');

select * from finish();
rollback;
