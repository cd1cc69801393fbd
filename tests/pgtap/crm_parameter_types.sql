-- User-defined parameters (RPT-3) refuse values of the wrong type with MG005 and a message that
-- names the parameter and what it expects; good values are stored in their canonical form.
begin;
select plan(16);

select tests.make_customer() as cust \gset
insert into crm.parameter_definitions (entity, code, name, type, choices, pattern, min_value, max_value) values
  ('customer', 'floor', 'Floor', 'number', null, null, -2, 30),
  ('customer', 'visit_on', 'Visit date', 'date', null, null, null, null),
  ('customer', 'has_dog', 'Has a dog', 'boolean', null, null, null, null),
  ('customer', 'roof', 'Roof type', 'choice', '{flat,pitched}', null, null, null),
  ('customer', 'public_ip', 'Public IP', 'ip', null, null, null, null),
  ('customer', 'router_mac', 'Router MAC', 'mac', null, null, null, null),
  ('customer', 'flat_code', 'Flat code', 'text', null, '^[A-Z]\d{3}$', null, null);

call tests.as_staff('{support}');

select throws_ok(format($$select crm.set_parameter('customer', %s, 'floor', 'third')$$, :cust),
  'MG005', 'parameter "Floor" expects a number, got "third"', 'a number parameter refuses words');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'floor', '31')$$, :cust),
  'MG005', 'parameter "Floor" must be between -2 and 30', 'a number parameter refuses values out of range');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'visit_on', '2024-02-30')$$, :cust),
  'MG005', 'parameter "Visit date" expects a date (YYYY-MM-DD), got "2024-02-30"', 'a date parameter refuses a day that does not exist');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'has_dog', 'maybe')$$, :cust),
  'MG005', 'parameter "Has a dog" expects yes or no, got "maybe"', 'a boolean parameter refuses anything but yes or no');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'roof', 'round')$$, :cust),
  'MG005', 'parameter "Roof type" must be one of: flat, pitched', 'a choice parameter refuses values outside its list');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'public_ip', '300.1.2.3')$$, :cust),
  'MG005', 'parameter "Public IP" expects an IP address, got "300.1.2.3"', 'an IP parameter refuses an impossible address');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'router_mac', '00:11:22:33:44:zz')$$, :cust),
  'MG005', 'parameter "Router MAC" expects a MAC address, got "00:11:22:33:44:zz"', 'a MAC parameter refuses non-hex digits');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'flat_code', 'b12')$$, :cust),
  'MG005', 'parameter "Flat code" does not have the expected form (^[A-Z]\d{3}$)', 'a text parameter refuses values not matching its pattern');
select throws_ok(
  format($$insert into crm.parameter_values (definition_id, entity_id, value)
           select id, %s, 'x' from crm.parameter_definitions where code = 'floor'$$, :cust),
  'MG005', 'parameter "Floor" expects a number, got "x"', 'a direct insert is validated the same way');

select lives_ok(format($$select crm.set_parameters('customer', %s, '{"floor": "2,5", "visit_on": "2024-02-29",
  "has_dog": "ano", "roof": "flat", "public_ip": "192.0.2.10", "router_mac": "00-11-22-AA-BB-CC", "flat_code": "B123"}')$$, :cust),
  'values of the right type are accepted');
select is((select value from crm.parameters where entity_id = :cust and code = 'floor'), '2.5', 'a decimal comma becomes a point');
select is((select value from crm.parameters where entity_id = :cust and code = 'has_dog'), 'true', 'ano is stored as true');
select is((select value from crm.parameters where entity_id = :cust and code = 'public_ip'), '192.0.2.10', 'a host address has no mask');
select is((select value from crm.parameters where entity_id = :cust and code = 'router_mac'), '00:11:22:aa:bb:cc',
  'a MAC address is stored in one form');
select throws_ok(format($$select crm.set_parameter('customer', %s, 'no_such', '1')$$, :cust),
  'MG005', 'there is no parameter "no_such" for this customer', 'an unknown parameter is refused');
select lives_ok(format($$select crm.set_parameter('customer', %s, 'floor', '')$$, :cust),
  'an empty value clears an optional parameter');

select * from finish();
rollback;
