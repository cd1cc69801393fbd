-- The billing run as a whole (BIL-2): a second run of a period creates nothing; a preview writes
-- nothing but its run's counts; a finished run is cancelled as a whole, not once issued; issuing
-- takes gap-free numbers from the operator's series; an issued document cannot be changed or
-- deleted by billing, an administrator or the owner; support cannot run billing; the saldo.
begin;
select plan(28);

select tests.billing_operator() as op \gset
select tests.make_tariff(500, :op) as t500 \gset
select tests.make_tariff(299, :op) as t299 \gset
select count(crm.activate_service(c, t, '2024-01-01', null, '{"state": "active"}')) as services
  from (select tests.make_customer(:op, 'Zákazník', 'Číslo' || i) as c from generate_series(1, 5) i) x,
       unnest(array[:t500, :t299]::bigint[]) t \gset
select tests.make_customer(:op, 'Extra', 'Fee') as extra \gset
select crm.activate_service(:extra, :t500, '2024-01-01', null, '{"state": "active"}') as extra_s \gset
insert into crm.number_series_counters (series_id, year, last_value)
select id, extract(year from crm.business_date(:op))::integer, 41 from crm.number_series
 where operator_id = :op and kind = 'invoice';

-- Support reads but cannot run billing.
call tests.as_staff('{support}');
select throws_ok(format('select billing.run(%s, %L)', :op, '2025-03'), '42501', NULL, 'support cannot run billing');
select throws_ok(format('select billing.start_run(%s, %L, false)', :op, '2025-03'), '42501', NULL,
  'nor start a run step by step');
select throws_ok(format('select billing.add_charge(%s, %L, %L, 100)', :extra_s, 'manual', 'Fee'), '42501', NULL,
  'nor add a charge');
select lives_ok('select count(*) from billing.documents', 'support reads the documents');

-- A preview: counts and totals, nothing written.
call tests.as_staff('{billing}');
select billing.add_charge(:extra_s, 'manual', 'Přeplatek převodem', 120, '2025-03-15') as manual \gset
select billing.run(:op, '2025-03', true) as preview \gset
select is((:'preview'::jsonb ->> 'state', (:'preview'::jsonb -> 'counts' ->> 'charges')::integer,
           (:'preview'::jsonb -> 'counts' ->> 'documents')::integer, (:'preview'::jsonb -> 'totals' ->> 'with_vat')::numeric)::text,
  '(preview,12,6,4615.00)', 'a preview says what the run would create: 11 fees and the manual charge on 6 documents');
select is((select (count(*) filter (where run_id is not null), count(*))::text from billing.charges where operator_id = :op),
  '(0,1)', 'a preview creates no charge and leaves the waiting one waiting');
select is((select count(*)::integer from billing.documents where operator_id = :op), 0, 'a preview creates no document');
select is((select state from billing.runs where id = (:'preview'::jsonb ->> 'run')::bigint), 'preview',
  'the preview is recorded as a run of state preview, nothing else');

-- The run, then a second run of the same period.
select billing.run(:op, '2025-03') as first \gset
select is(:'first'::jsonb - 'run', :'preview'::jsonb - 'run' || '{"state": "done"}',
  'the run creates what the preview said');
select billing.run(:op, '2025-03') as second \gset
select is((:'second'::jsonb -> 'counts' ->> 'charges', :'second'::jsonb -> 'counts' ->> 'documents')::text, '(0,0)',
  'a second run of the same period creates nothing');
select is((select count(*)::integer from billing.charges where operator_id = :op), 12, 'still 12 charges');

-- Cancel the finished run as a whole: its documents and charges go, the manual charge waits again.
select billing.cancel_run((:'first'::jsonb ->> 'run')::bigint, 'wrong prices') as cancelled \gset
select is((:'cancelled'::jsonb ->> 'state', :'cancelled'::jsonb -> 'counts' ->> 'deleted_documents',
           :'cancelled'::jsonb -> 'counts' ->> 'deleted_charges', :'cancelled'::jsonb -> 'counts' ->> 'released_charges')::text,
  '(cancelled,6,11,1)', 'cancelled: 6 drafts and 11 charges deleted, the manual charge released');
select is((select (count(*), count(run_id))::text from billing.charges where operator_id = :op), '(1,0)',
  'only the waiting manual charge is left');
select is((select (state, cancel_reason, cancelled_by is not null)::text from billing.runs
            where id = (:'first'::jsonb ->> 'run')::bigint), '(cancelled,"wrong prices",t)',
  'the run says who cancelled it and why');

-- Run again and issue: gap-free numbers from the series (it stood at 41), in document order.
select billing.run(:op, '2025-03') as again \gset
select billing.issue_run((:'again'::jsonb ->> 'run')::bigint) as issued \gset
select is((select array_agg(number order by id) from billing.documents where run_id = (:'again'::jsonb ->> 'run')::bigint),
  (select array_agg(format('FV%s%s', extract(year from crm.business_date(:op)), lpad(n::text, 5, '0')) order by n)
     from generate_series(42, 47) n),
  'issuing numbers the six documents 42 to 47 of this year''s invoice series, no gap');
select is((select last_value from crm.number_series_counters c join crm.number_series s on s.id = c.series_id
            where s.operator_id = :op and s.kind = 'invoice'), 47::bigint, 'the counter stands at the last number');
select is((select (count(*), count(*) filter (where state = 'issued' and issue_date = crm.business_date(:op)
                                              and due_date = issue_date + 14))::text
             from billing.documents where run_id = (:'again'::jsonb ->> 'run')::bigint), '(6,6)',
  'each has its issue date and due date');
select throws_ok(format('select billing.cancel_run(%s)', :'again'::jsonb ->> 'run'), 'MG043', NULL,
  'an issued run cannot be cancelled');
select throws_ok(format('select billing.issue_run(%s)', :'again'::jsonb ->> 'run'), 'MG043', NULL,
  'nor issued twice');

-- An issued document never changes: not by billing, an administrator or the owner.
select id as doc from billing.documents where run_id = (:'again'::jsonb ->> 'run')::bigint order by id limit 1 \gset
select throws_ok(format('update billing.documents set amount_due = 0 where id = %s', :doc), '42501', NULL,
  'billing cannot change an issued document');
call tests.as_staff('{admin}');
select throws_ok(format('delete from billing.document_lines where document_id = %s', :doc), '42501', NULL,
  'nor can an administrator delete its lines');
call tests.as_superuser();
set local role mango_owner;
select throws_ok(format('update billing.documents set amount_due = 0 where id = %s', :doc), 'MG041', NULL,
  'the owner cannot change an issued document');
select throws_ok(format('delete from billing.documents where id = %s', :doc), 'MG041', NULL,
  'nor delete it');
select throws_ok(format('update billing.document_vat set vat = 0 where document_id = %s', :doc), 'MG041', NULL,
  'nor its VAT recap');
select throws_ok(format('update billing.charges set amount_with_vat = 1 where id = (select charge_id from billing.document_lines where document_id = %s and charge_id is not null limit 1)', :doc),
  'MG041', NULL, 'nor a charge it bills');
reset role;

-- The saldo: what the issued documents ask, open, and overdue once due.
call tests.as_staff('{support}');
select is((select (charged, documented, paid, balance, open, overdue)::text from billing.customer_account(:extra)),
  '(620.00,620.00,0,620.00,620.00,0)', 'the saldo: 500 + 120 charged and documented, open, not yet due');
select is((select (open, overdue)::text from billing.customer_account(:extra, crm.business_date(:op) + 15)),
  '(620.00,620.00)', 'after the due date it is overdue');
select is((select (count(*), sum(open))::text from billing.operator_accounts(:op)),
  '(6,4615.00)', 'the operator''s accounts: six customers owe 4 615.00 together');

select * from finish();
rollback;
