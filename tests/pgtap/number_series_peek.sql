-- The operator page shows the next number of each series from the database (crm.peek_number), by
-- the same year rule as crm.next_number, without taking it: a yearly series starts again each year
-- of the operator's business date, another counts on.
begin;
select plan(6);

select tests.make_operator() as op \gset
insert into crm.number_series (operator_id, kind, format, yearly, start_value)
values (:op, 'invoice', 'FV{YYYY}{N:4}', true, 1) returning id as yearly \gset
select id as flat from crm.number_series where operator_id = :op and kind = 'customer' \gset

call tests.as_staff('{billing}');
select is(crm.peek_number(:yearly, '2025-06-30'), 'FV20250001', 'a new yearly series shows its start');
select is(crm.next_number(:op, 'invoice', '2025-06-30'), 'FV20250001', 'and issues what it showed');
select is(crm.peek_number(:yearly, '2025-12-31'), 'FV20250002', 'then shows the next one of the year');
select is(crm.peek_number(:yearly, '2026-01-01'), 'FV20260001', 'a new year starts from the start again');
select is(
  crm.peek_number(:yearly),
  crm.format_number('FV{YYYY}{N:4}', case when extract(year from crm.business_date(:op)) = 2025 then 2 else 1 end,
                    crm.business_date(:op)),
  'without a date, on the operator''s business date'
);
select is(
  crm.peek_number(:flat, '2030-01-01'), crm.next_number(:op, 'customer', '2030-01-01'),
  'a series that is not yearly counts on'
);

select * from finish();
rollback;
