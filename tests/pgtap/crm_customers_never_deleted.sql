-- A customer is ended and hidden, never deleted (CRM-5): no staff role may delete one.
begin;
select plan(8);

select tests.make_customer() as cust \gset

call tests.as_staff('{admin}');
select throws_ok(format('delete from crm.customers where id = %s', :cust), '42501', null, 'admin cannot delete a customer');
call tests.as_superuser();
call tests.as_staff('{billing}');
select throws_ok(format('delete from crm.customers where id = %s', :cust), '42501', null, 'billing cannot delete a customer');
call tests.as_superuser();
call tests.as_staff('{support}');
select throws_ok(format('delete from crm.customers where id = %s', :cust), '42501', null, 'support cannot delete a customer');
call tests.as_superuser();
call tests.as_staff('{technician}');
select throws_ok(format('delete from crm.customers where id = %s', :cust), '42501', null, 'a technician cannot delete a customer');
call tests.as_superuser();
call tests.as_staff('{sales}');
select throws_ok(format('delete from crm.customers where id = %s', :cust), '42501', null, 'sales cannot delete a customer');
call tests.as_superuser();
call tests.as_staff('{report}');
select throws_ok(format('delete from crm.customers where id = %s', :cust), '42501', null, 'the read-only role cannot delete a customer');
call tests.as_superuser();

call tests.as_staff('{support}');
select lives_ok(format($$select crm.end_customer(%s, current_date, 'contract ended')$$, :cust), 'support ends the customer instead');
select is((select state from crm.customers where id = :cust), 'ended', 'the customer is still there, ended');

select * from finish();
rollback;
