-- VAT rates are dated data: 21/15/10 % until the end of 2023, 21/12 % from 2024.
begin;
select plan(8);

call tests.as_staff('{billing}');
select is(catalog.vat_rate('standard', '2023-12-31'), 21.00, 'standard rate 21 % in 2023');
select is(catalog.vat_rate('reduced', '2023-12-31'), 15.00, 'first reduced rate 15 % until 2023');
select is(catalog.vat_rate('second_reduced', '2023-12-31'), 10.00, 'second reduced rate 10 % until 2023');
select is(catalog.vat_rate('standard', '2024-01-01'), 21.00, 'standard rate 21 % from 2024');
select is(catalog.vat_rate('reduced', '2024-01-01'), 12.00, 'reduced rate 12 % from 2024');
select is(catalog.vat_rate('second_reduced', '2024-01-01'), 12.00, 'the two reduced rates merge into 12 % from 2024');
select is(catalog.vat_rate('zero', '2024-06-01'), 0.00, 'zero rate');
select throws_ok($$select catalog.vat_rate('reduced', '2012-12-31')$$,
  'MG007', 'no VAT rate of class reduced on 2012-12-31', 'a date without a known rate is an error, not a guess');

select * from finish();
rollback;
