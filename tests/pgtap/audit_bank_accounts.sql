-- Bank account changes are audited: insert, update and delete each write one record.
begin;
select plan(5);

select tests.make_operator('pgtap-bank');
select tests.make_user('{billing}', 'test_billing');
call tests.as_staff('{billing}');
insert into payment.bank_accounts (operator_id, name, account_number, bank_code)
select id, 'Main', '2700342289', '2010' from crm.operators where code = 'pgtap-bank';
update payment.bank_accounts set name = 'Main account' where account_number = '2700342289' and bank_code = '2010';
delete from payment.bank_accounts where account_number = '2700342289' and bank_code = '2010';
call tests.as_superuser();

select results_eq(
    $$select operation, db_role, user_id from tests.my_audit('payment.bank_accounts')$$,
    $$select op, 'mango_as_billing'::text, (select id from auth.users where username = 'test_billing')
        from unnest(array['insert', 'update', 'delete']) with ordinality as o(op, n) order by n$$,
    'insert, update and delete write one record each, with the billing role and user'
);
select ok(
    (select old_values is null and new_values ->> 'iban' = 'CZ6820100000002700342289'
       from tests.my_audit('payment.bank_accounts') where operation = 'insert'),
    'the insert records the new row with its IBAN'
);
select is(
    (select changes from audit.history
      where id = (select id from tests.my_audit('payment.bank_accounts') where operation = 'update')),
    '{"name": {"old": "Main", "new": "Main account"}}'::jsonb,
    'the update records the changed name, old and new'
);
select ok(
    (select old_values ->> 'name' = 'Main account' and new_values is null
       from tests.my_audit('payment.bank_accounts') where operation = 'delete'),
    'the delete records the old row'
);
select is(
    (select count(distinct record_id)::integer from tests.my_audit('payment.bank_accounts')), 1,
    'all three records name the same account'
);

select * from finish();
rollback;
