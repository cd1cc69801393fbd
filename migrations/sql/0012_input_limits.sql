-- 0012 input limits: numeric columns refuse NaN and infinity, text columns get length limits, and
-- two rules that only the web client knew. Frozen once merged.
--
-- The constraints are named <table>_<column>_<what>_check: the web client shows a failed one
-- beside its field, with what the constraint allows (it reads these definitions from the catalogue,
-- webclient/web/rules.py), and forms take their maxlength and their choices from them.

-- ---------------------------------------------------------------------------------------------
-- Numbers: NaN and ±Infinity refused.
--
-- `x >= 0` lets NaN through (PostgreSQL sorts NaN above every number) and a NaN price closed the
-- tariff's previous price. `x > '-Infinity' and x < 'Infinity'` refuses NaN, Infinity and
-- -Infinity alike. The list is every numeric, real and double precision column of our schemas at
-- this revision whose checks let one of them through; the others already refuse all three with a
-- bounded range (bus.job_kind_params.minimum and maximum, bus.jobs.progress,
-- catalog.bundle_items.discount_percent, catalog.customer_discounts.percent, catalog.vat_rates.rate,
-- crm.delivery_places and net.sites latitude and longitude). tests/pgtap/input_limits.sql checks
-- every such column of the catalogue, including those added later.

alter table catalog.orders
add constraint orders_price_before_finite_check check (price_before > '-Infinity' and price_before < 'Infinity'),
add constraint orders_price_after_finite_check check (price_after > '-Infinity' and price_after < 'Infinity');

alter table catalog.prices
add constraint prices_monthly_fee_finite_check check (monthly_fee > '-Infinity' and monthly_fee < 'Infinity'),
add constraint prices_setup_fee_finite_check check (setup_fee > '-Infinity' and setup_fee < 'Infinity');

alter table crm.parameter_definitions
add constraint parameter_definitions_min_value_finite_check check (min_value > '-Infinity' and min_value < 'Infinity'),
add constraint parameter_definitions_max_value_finite_check check (max_value > '-Infinity' and max_value < 'Infinity');

-- ---------------------------------------------------------------------------------------------
-- Texts people type: a length limit each. A text longer than a B-tree entry can hold (about
-- 2,700 bytes) failed with "index row size exceeds maximum", and nothing else bounded a name or a
-- note. Names 200 characters, codes 50, address parts 20-200, reasons 500, notes and descriptions
-- 2,000, a customer note and a lawful case's note 10,000; indexed columns stay under 700 (four bytes
-- a character at worst). Texts that only the code writes (audit, bus, sessions, logs) are not
-- limited.

alter table auth.users
add constraint users_full_name_length_check check (length(full_name) <= 200),
add constraint users_email_length_check check (length(email) <= 254);

alter table catalog.bundles
add constraint bundles_code_length_check check (length(code) <= 50),
add constraint bundles_name_length_check check (length(name) <= 200),
add constraint bundles_description_length_check check (length(description) <= 2000);

alter table catalog.classes
add constraint classes_name_length_check check (length(name) <= 200),
add constraint classes_description_length_check check (length(description) <= 2000);

alter table catalog.customer_discounts
add constraint customer_discounts_reason_length_check check (length(reason) <= 500);

alter table catalog.order_events
add constraint order_events_note_length_check check (length(note) <= 2000);

alter table catalog.orders
add constraint orders_note_length_check check (length(note) <= 2000),
add constraint orders_reject_reason_length_check check (length(reject_reason) <= 2000);

alter table catalog.products
add constraint products_code_length_check check (length(code) <= 50),
add constraint products_name_length_check check (length(name) <= 200),
add constraint products_description_length_check check (length(description) <= 2000),
add constraint products_invoice_text_length_check check (length(invoice_text) <= 200);

alter table catalog.tariffs
add constraint tariffs_code_length_check check (length(code) <= 50),
add constraint tariffs_name_length_check check (length(name) <= 200),
add constraint tariffs_description_length_check check (length(description) <= 2000);

alter table catalog.zones
add constraint zones_name_length_check check (length(name) <= 200),
add constraint zones_description_length_check check (length(description) <= 2000);

alter table crm.contacts
add constraint contacts_value_length_check check (length(value) <= 254),
add constraint contacts_label_length_check check (length(label) <= 100);

alter table crm.contracts
add constraint contracts_number_length_check check (length(number) <= 50),
add constraint contracts_note_length_check check (length(note) <= 2000);

alter table crm.customer_notes
add constraint customer_notes_body_length_check check (length(body) <= 10000);

alter table crm.customers
add constraint customers_first_name_length_check check (length(first_name) <= 200),
add constraint customers_last_name_length_check check (length(last_name) <= 200),
add constraint customers_company_name_length_check check (length(company_name) <= 200),
add constraint customers_customer_no_length_check check (length(customer_no) <= 30),
add constraint customers_ico_length_check check (length(ico) <= 20),
add constraint customers_dic_length_check check (length(dic) <= 20),
add constraint customers_street_length_check check (length(street) <= 200),
add constraint customers_house_no_length_check check (length(house_no) <= 20),
add constraint customers_city_length_check check (length(city) <= 100),
add constraint customers_zip_length_check check (length(zip) <= 20),
add constraint customers_note_length_check check (length(note) <= 2000),
add constraint customers_end_reason_length_check check (length(end_reason) <= 500);

alter table crm.delivery_places
add constraint delivery_places_street_length_check check (length(street) <= 200),
add constraint delivery_places_house_no_length_check check (length(house_no) <= 20),
add constraint delivery_places_flat_length_check check (length(flat) <= 20),
add constraint delivery_places_city_length_check check (length(city) <= 100),
add constraint delivery_places_zip_length_check check (length(zip) <= 20),
add constraint delivery_places_note_length_check check (length(note) <= 2000);

alter table crm.groups
add constraint groups_name_length_check check (length(name) <= 200),
add constraint groups_description_length_check check (length(description) <= 2000);

alter table crm.number_series
add constraint number_series_format_length_check check (length(format) <= 50),
add constraint number_series_description_length_check check (length(description) <= 500);

alter table crm.operators
add constraint operators_name_length_check check (length(name) <= 200),
add constraint operators_ico_length_check check (length(ico) <= 20),
add constraint operators_dic_length_check check (length(dic) <= 20),
add constraint operators_street_length_check check (length(street) <= 200),
add constraint operators_city_length_check check (length(city) <= 100),
add constraint operators_email_length_check check (length(email) <= 254),
add constraint operators_phone_length_check check (length(phone) <= 50),
add constraint operators_web_length_check check (length(web) <= 200),
add constraint operators_registration_length_check check (length(registration) <= 500);

alter table crm.parameter_definitions
add constraint parameter_definitions_name_length_check check (length(name) <= 200),
add constraint parameter_definitions_default_value_length_check check (length(default_value) <= 500),
add constraint parameter_definitions_pattern_length_check check (length(pattern) <= 500),
add constraint parameter_definitions_unit_length_check check (length(unit) <= 20);

alter table crm.parameter_values
add constraint parameter_values_value_length_check check (length(value) <= 500);

alter table crm.service_moves
add constraint service_moves_reason_length_check check (length(reason) <= 500);

alter table crm.services
add constraint services_block_reason_length_check check (length(block_reason) <= 500),
add constraint services_end_reason_length_check check (length(end_reason) <= 500),
add constraint services_note_length_check check (length(note) <= 2000);

alter table flow.lawful_cases
add constraint lawful_cases_reference_length_check check (length(reference) <= 200),
add constraint lawful_cases_requesting_body_length_check check (length(requesting_body) <= 200),
add constraint lawful_cases_legal_basis_length_check check (length(legal_basis) <= 500),
add constraint lawful_cases_note_length_check check (length(note) <= 10000);

alter table net.credentials
add constraint credentials_name_length_check check (length(name) <= 200),
add constraint credentials_username_length_check check (length(username) <= 200),
add constraint credentials_secret_length_check check (length(secret) <= 4000),
add constraint credentials_note_length_check check (length(note) <= 2000);

alter table net.device_models
add constraint device_models_manufacturer_length_check check (length(manufacturer) <= 100),
add constraint device_models_model_length_check check (length(model) <= 100),
add constraint device_models_note_length_check check (length(note) <= 2000);

alter table net.devices
add constraint devices_name_length_check check (length(name) <= 200),
add constraint devices_serial_no_length_check check (length(serial_no) <= 100),
add constraint devices_identifier_code_length_check check (length(identifier_code) <= 100),
add constraint devices_note_length_check check (length(note) <= 2000);

alter table net.interfaces
add constraint interfaces_name_length_check check (length(name) <= 100),
add constraint interfaces_note_length_check check (length(note) <= 2000);

alter table net.ip_assignments
add constraint ip_assignments_note_length_check check (length(note) <= 2000);

alter table net.links
add constraint links_note_length_check check (length(note) <= 2000);

alter table net.mac_assignments
add constraint mac_assignments_note_length_check check (length(note) <= 2000);

alter table net.pools
add constraint pools_name_length_check check (length(name) <= 200);

alter table net.prefixes
add constraint prefixes_description_length_check check (length(description) <= 500);

alter table net.sites
add constraint sites_name_length_check check (length(name) <= 200),
add constraint sites_street_length_check check (length(street) <= 200),
add constraint sites_house_no_length_check check (length(house_no) <= 20),
add constraint sites_city_length_check check (length(city) <= 100),
add constraint sites_zip_length_check check (length(zip) <= 20),
add constraint sites_note_length_check check (length(note) <= 2000);

alter table net.stock_movements
add constraint stock_movements_note_length_check check (length(note) <= 2000);

alter table net.stores
add constraint stores_name_length_check check (length(name) <= 200);

alter table net.vlans
add constraint vlans_name_length_check check (length(name) <= 100),
add constraint vlans_note_length_check check (length(note) <= 2000);

alter table payment.bank_accounts
add constraint bank_accounts_name_length_check check (length(name) <= 200);

-- ---------------------------------------------------------------------------------------------
-- A customer's end cannot be dated before the customer began (crm.end_customer also refuses a date
-- before any of their running services began). An end recorded so before this revision is moved to
-- the customer's first day: their services were cut to their first day then too.

update crm.customers set ended_on = created_on
where ended_on < created_on;

alter table crm.customers
add constraint customers_ended_on_check check (ended_on >= created_on);

-- ---------------------------------------------------------------------------------------------
-- A rejected order says why (catalog.advance_order asks for it; until now only the web client did).

update catalog.orders set reject_reason = 'no reason recorded'
where stage = 'rejected' and coalesce(btrim(reject_reason), '') = '';

alter table catalog.orders
add constraint orders_reject_reason_check check (stage <> 'rejected' or coalesce(btrim(reject_reason), '') <> '');
