-- Number series: the format, a yearly restart, a continuous series, start value, exhaustion.
-- (tests.make_operator also makes the operator's customer, vs and contract series.)
begin;
select plan(14);

select tests.make_operator('pgtap-series');
call tests.as_staff('{admin}');
insert into crm.number_series (operator_id, kind, format, yearly)
select id, s.kind, s.format, s.yearly
  from crm.operators,
       (values ('invoice', 'FV{YYYY}-{N:5}', true), ('pgtap_plain', 'P{N:6}', false), ('pgtap_month', '{YY}{MM}/{N}', true))
       as s(kind, format, yearly)
 where code = 'pgtap-series';
insert into crm.number_series (operator_id, kind, format, yearly, start_value)
select id, 'tiny', 'T{N:2}', false, 98 from crm.operators where code = 'pgtap-series';
call tests.as_superuser();

call tests.as_staff('{billing}');
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'invoice', '2024-12-30'),
    'FV2024-00001', 'the first invoice number of 2024'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'invoice', '2024-12-31'),
    'FV2024-00002', 'the next one follows'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'invoice', '2025-01-01'),
    'FV2025-00001', 'a yearly series restarts in a new year'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'invoice', '2024-12-31'),
    'FV2024-00003', 'the old year''s counter goes on where it stopped'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'pgtap_plain', '2024-12-31'),
    'P000001', 'a continuous series'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'pgtap_plain', '2025-01-01'),
    'P000002', 'a continuous series does not restart in a new year'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'pgtap_month', '2025-03-15'),
    '2503/1', 'year and month placeholders; {N} without a width'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'tiny', '2025-03-15'),
    'T98', 'a series starts at its start value'
);
select is(
    crm.next_number((select id from crm.operators where code = 'pgtap-series'), 'tiny', '2025-03-15'),
    'T99', 'and counts up'
);
select throws_ok(
    format($$select crm.next_number(%s, 'tiny', '2025-03-15')$$,
           (select id from crm.operators where code = 'pgtap-series')),
    'MG003', null, 'a number that does not fit the width is refused'
);
select throws_ok(
    format($$select crm.next_number(%s, 'no_such_kind')$$, (select id from crm.operators where code = 'pgtap-series')),
    'MG002', null, 'an unknown series is refused'
);
select throws_ok(
    $$update crm.number_series_counters set last_value = 0$$,
    '42501', null, 'staff cannot move a counter directly'
);
select throws_ok(
    format($$insert into crm.number_series (operator_id, kind, format) values (%s, 'other', '{N}')$$,
           (select id from crm.operators where code = 'pgtap-series')),
    '42501', null, 'billing cannot create a number series'
);
select is(crm.format_number('VS{YY}{N:4}', 7, '2026-05-01'), 'VS260007', 'format_number on its own');

select * from finish();
rollback;
