-- Operators: IČO check digit, DIČ form, a VAT payer needs a DIČ; only administrators write them.
begin;
select plan(17);

call tests.as_staff('{admin}');
select throws_ok(
    $$insert into crm.operators (code, name, ico, vat_payer) values ('bad-ico', 'Bad', '12345678', false)$$,
    'MG001', null, 'IČO 12345678 (wrong check digit) is refused'
);
select throws_ok(
    $$insert into crm.operators (code, name, ico, vat_payer) values ('bad-ico2', 'Bad', '2509756', false)$$,
    'MG001', null, 'an IČO of 7 digits is refused'
);
select lives_ok(
    format($$insert into crm.operators (code, name, ico, vat_payer) values ('op-%s', 'Valid %s', %L, false)$$,
           ico, ico, ico),
    format('IČO %s is accepted', ico)
)
  from unnest(array['25097563', '00006947', '47114983', '45317054', '61858374']) as ico;
select is(
    (select ico from crm.operators where code = 'op-25097563'), '25097563', 'the IČO is stored'
);
select lives_ok(
    $$insert into crm.operators (code, name, ico, vat_payer) values ('spaced', 'Spaced', ' 250 975 63 ', false)$$,
    'spaces in an IČO are removed'
);
select is((select ico from crm.operators where code = 'spaced'), '25097563', 'the IČO is normalised');

select throws_ok(
    $$insert into crm.operators (code, name, ico, dic) values ('bad-dic', 'Bad', '25097563', 'CZ12345678')$$,
    'MG001', null, 'DIČ CZ + an invalid IČO is refused'
);
select throws_ok(
    $$insert into crm.operators (code, name, dic) values ('bad-dic2', 'Bad', 'CZ12')$$,
    'MG001', null, 'a DIČ that is too short is refused'
);
select lives_ok(
    $$insert into crm.operators (code, name, ico, dic) values ('vat', 'VAT', '25097563', 'cz 25097563')$$,
    'DIČ CZ25097563 is accepted (case and spaces normalised)'
);
select is((select dic from crm.operators where code = 'vat'), 'CZ25097563', 'the DIČ is normalised');
select throws_ok(
    $$insert into crm.operators (code, name, ico, vat_payer) values ('novat', 'No VAT', '25097563', true)$$,
    'MG001', 'a VAT payer needs a DIČ', 'a VAT payer without a DIČ is refused'
);

call tests.as_superuser();
call tests.as_staff('{billing}');
select throws_ok(
    $$insert into crm.operators (code, name, vat_payer) values ('billing-op', 'Billing', false)$$,
    '42501', null, 'billing cannot create an operator'
);
select throws_ok(
    $$update crm.operators set name = 'Renamed' where code = 'vat'$$,
    '42501', null, 'billing cannot change an operator'
);

select * from finish();
rollback;
