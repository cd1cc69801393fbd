-- Changes to operators and their number series are audited with old and new values, role and user.
begin;
select plan(6);

select tests.make_user('{admin}', 'test_admin');
call tests.as_staff('{admin}');
insert into crm.operators (code, name, ico, dic) values ('pgtap-op', 'Pgtap s.r.o.', '47114983', 'CZ47114983');
update crm.operators set city = 'Brno' where code = 'pgtap-op';
insert into crm.number_series (operator_id, kind, format)
select id, 'invoice', 'FV{YYYY}{N:5}' from crm.operators where code = 'pgtap-op';
update crm.number_series set format = 'F{YY}{N:6}'
 where kind = 'invoice' and operator_id = (select id from crm.operators where code = 'pgtap-op');
delete from crm.number_series
 where kind = 'invoice' and operator_id = (select id from crm.operators where code = 'pgtap-op');
call tests.as_superuser();

select results_eq(
    $$select operation, db_role, user_id, record_id from tests.my_audit('crm.operators')$$,
    $$select op, 'mango_as_admin'::text, (select id from auth.users where username = 'test_admin'),
             (select id::text from crm.operators where code = 'pgtap-op')
        from unnest(array['insert', 'update']) with ordinality as o(op, n) order by n$$,
    'an operator''s insert and update are audited once each, with role and user'
);
select is(
    (select changes from audit.history
      where id = (select id from tests.my_audit('crm.operators') where operation = 'update')),
    '{"city": {"old": null, "new": "Brno"}}'::jsonb,
    'the update records only the changed column, old and new'
);
select is(
    (select new_values ->> 'ico' from tests.my_audit('crm.operators') where operation = 'insert'),
    '47114983', 'the insert records the new row'
);
select results_eq(
    $$select operation, db_role from tests.my_audit('crm.number_series')$$,
    $$values ('insert'::text, 'mango_as_admin'::text), ('update', 'mango_as_admin'), ('delete', 'mango_as_admin')$$,
    'a number series'' insert, update and delete are audited once each'
);
select is(
    (select changes -> 'format' from audit.history
      where id = (select id from tests.my_audit('crm.number_series') where operation = 'update')),
    '{"old": "FV{YYYY}{N:5}", "new": "F{YY}{N:6}"}'::jsonb,
    'the changed format is recorded old and new'
);
select ok(
    (select old_values is not null and new_values is null from tests.my_audit('crm.number_series')
      where operation = 'delete'),
    'a delete keeps the old row'
);

select * from finish();
rollback;
