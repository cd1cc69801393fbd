-- A technician edits devices and credentials but never reads a credential's secret back;
-- the agents read it.
begin;
select plan(9);

select tests.net_make_device('cred-ap', null, 'ap') as ap \gset
insert into net.credentials (name, kind, username, secret) values ('cred-test', 'routeros_api', 'admin', 's3cret!')
returning id as cred \gset

call tests.as_staff('{technician}');
select lives_ok(
  format($$update net.devices set credential_id = %s, mgmt_address = '10.10.0.2', managed = true where id = %s$$,
         :cred, :ap),
  'a technician edits a device and sets its credentials'
);
select lives_ok(
  $$insert into net.devices (name, role) values ('cred-new-switch', 'operator')$$,
  'a technician adds a device'
);
select lives_ok(
  format($$update net.credentials set secret = 'n3w-secret', username = 'mango' where id = %s$$, :cred),
  'a technician may change a secret (write only)'
);
select throws_ok(
  'select secret from net.credentials', '42501', null,
  'a technician cannot read a secret'
);
select throws_ok(
  'select * from net.credentials', '42501', null,
  'nor by asking for every column'
);
select is(
  (select username from net.credentials where id = :cred), 'mango',
  'a technician reads the other columns of a credential'
);

call tests.as_superuser();
set local role mango_agent_provisioner;
select is(
  (select secret from net.credentials where id = :cred), 'n3w-secret',
  'the provisioning agent, which logs in to devices, reads the secret'
);
reset role;
set local role mango_agent_monitor;
select throws_ok(
  format('select secret from net.credentials where id = %s', :cred), '42501', null,
  'the monitoring agent does not'
);

call tests.as_superuser();
select is(
  (select count(*) || ' records, ' || count(*) filter (
            where (coalesce(r.new_values::text, '') || coalesce(r.old_values::text, '')) ~ '(s3cret|n3w-secret)')
          || ' with a secret'
     from tests.my_audit('net.credentials') r
    where r.record_id = :'cred'),
  '2 records, 0 with a secret', 'the audit trail records the changes but never keeps a secret'
);

select * from finish();
rollback;
