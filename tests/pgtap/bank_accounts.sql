-- Bank accounts: mod 11 check, IBAN filled in; billing writes them, support may not.
begin;
select plan(17);

select tests.make_operator('pgtap-bank');
call tests.as_staff('{billing}');

select lives_ok(
    format($$insert into payment.bank_accounts (operator_id, name, account_prefix, account_number, bank_code)
             values (%s, %L, %L, %L, %L)$$,
           (select id from crm.operators where code = 'pgtap-bank'), a.number, a.prefix, a.number, a.bank),
    format('account %s-%s/%s passes mod 11', coalesce(a.prefix, '0'), a.number, a.bank)
)
  from (values (null, '2600113745', '2010'), (null, '2700342289', '2010'), ('19', '2000145399', '0800'),
               (null, '1265098001', '5500'), (null, '263847748', '0300'), (null, '183861478', '0100'))
       as a(prefix, number, bank);

select is(
    (select iban from payment.bank_accounts where account_prefix = '19' and account_number = '2000145399'),
    'CZ6508000000192000145399', 'the IBAN of 19-2000145399/0800'
);
select is(
    (select iban from payment.bank_accounts where account_number = '1265098001'),
    'CZ5855000000001265098001', 'the IBAN of 1265098001/5500'
);
select is(
    (select iban from payment.bank_accounts where account_number = '2700342289'),
    'CZ6820100000002700342289', 'the IBAN of 2700342289/2010'
);
select throws_ok(
    format($$insert into payment.bank_accounts (operator_id, name, account_number, bank_code)
             values (%s, 'Bad', '2600113746', '2010')$$, (select id from crm.operators where code = 'pgtap-bank')),
    'MG001', null, 'an account number failing mod 11 is refused'
);
select throws_ok(
    format($$insert into payment.bank_accounts (operator_id, name, account_prefix, account_number, bank_code)
             values (%s, 'Bad', '18', '2000145399', '0800')$$,
           (select id from crm.operators where code = 'pgtap-bank')),
    'MG001', null, 'a prefix failing mod 11 is refused'
);
select throws_ok(
    format($$insert into payment.bank_accounts (operator_id, name, account_number, bank_code, iban)
             values (%s, 'Bad', '2700342289', '0300', 'CZ0003000000002700342289')$$,
           (select id from crm.operators where code = 'pgtap-bank')),
    'MG001', null, 'a given IBAN failing mod 97 is refused'
);
select lives_ok(
    $$update payment.bank_accounts set is_default = true where account_number = '2600113745'$$,
    'billing changes a bank account'
);
select lives_ok(
    $$delete from payment.bank_accounts where account_number = '183861478'$$,
    'billing deletes a bank account'
);

call tests.as_superuser();
call tests.as_staff('{support}');
select throws_ok(
    format($$insert into payment.bank_accounts (operator_id, name, account_number, bank_code)
             values (%s, 'Support', '2700342289', '0300')$$, (select id from crm.operators where code = 'pgtap-bank')),
    '42501', null, 'support cannot add a bank account'
);
select throws_ok(
    $$update payment.bank_accounts set name = 'Hijacked' where account_number = '2600113745'$$,
    '42501', null, 'support cannot change a bank account'
);
select is(
    (select count(*)::integer from payment.bank_accounts where account_number = '2600113745'), 1,
    'support can see bank accounts'
);

select * from finish();
rollback;
