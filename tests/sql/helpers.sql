-- Helpers for tests, installed only in test databases: log in as a staff role or a customer,
-- make fixtures. They switch role like the web client does, so RLS and grants apply for real.

create schema if not exists tests;
grant usage on schema tests to public;

create or replace function tests.make_user(p_roles text[], p_username text default null)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
  v_name text := coalesce(p_username, 'test_' || array_to_string(p_roles, '_') || '_'
                          || substr(md5(random()::text), 1, 6));
  v_id bigint;
begin
  select id into v_id from auth.users where username = v_name::public.citext;
  if v_id is null then
    insert into auth.users (username, full_name, language, roles, db_role, password_hash)
    values (v_name, initcap(replace(v_name, '_', ' ')), 'en', p_roles, auth.role_for(p_roles),
            public.crypt('test-password-1', public.gen_salt('bf', 4)))
    returning id into v_id;
  end if;
  return v_id;
end;
$$;

create or replace function tests.session_for(p_user_id bigint)
returns text
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
  v_token text := encode(public.gen_random_bytes(32), 'hex');
begin
  insert into auth.sessions (token_hash, csrf_token, user_id, expires_at)
  values (auth.token_hash(v_token), 'test', p_user_id, now() + interval '1 hour');
  return v_token;
end;
$$;

-- Run the rest of the transaction as a staff user holding these roles (e.g. '{billing}').
-- Call as the superuser; then `set local role` is done by tests.as_staff's caller:
--   select tests.as_staff('{support}');  -- returns the role name and sets the session token
create or replace function tests.login_staff(p_roles text[])
returns text
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_uid bigint := tests.make_user(p_roles, 'test_' || array_to_string(p_roles, '_'));
  v_role text;
begin
  select db_role into v_role from auth.users where id = v_uid;
  perform set_config('mango.session', tests.session_for(v_uid), true);
  return v_role;
end;
$$;

-- Switch the current transaction to a staff user with these roles (pgTAP: call, then test).
create or replace procedure tests.as_staff(p_roles text[])
language plpgsql security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_role text;
begin
  reset role;  -- from any role: the helpers read auth.users as the superuser
  v_role := tests.login_staff(p_roles);
  execute format('set local role %I', v_role);
end;
$$;

create or replace procedure tests.as_superuser()
language plpgsql security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  reset role;
  perform set_config('mango.session', '', true);
end;
$$;

-- Audit records written by the current transaction (pgTAP files run in one transaction).
create or replace function tests.my_audit(p_table regclass)
returns setof audit.records
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  select r.*
    from audit.records r
    join pg_catalog.pg_class c on c.relname = r.table_name
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace and n.nspname = r.table_schema
   where c.oid = p_table and r.txid = txid_current()
   order by r.id;
$$;

-- ---------------------------------------------------------------------------------------------
-- Fixture makers for customers and the catalogue. Call them as the superuser (before
-- tests.as_staff); each returns the new row's id.

-- An operator with valid IČO/DIČ and its customer, VS and contract number series
-- (customer numbers <id>-000001…, VS <id>00001…).
create or replace function tests.make_operator(p_code text default null)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_code text := coalesce(p_code, 'op' || substr(md5(random()::text), 1, 8));
  v_id bigint;
begin
  insert into crm.operators (code, name, ico, dic, street, city, zip)
  values (v_code, 'Operator ' || v_code, '27082440', 'CZ27082440', 'Hlavní 1', 'Brno', '602 00')
  returning id into v_id;
  -- Customer numbers and VS are unique over the whole install: each operator gets its own range.
  insert into crm.number_series (operator_id, kind, format, yearly, start_value) values
    (v_id, 'customer', v_id || '-{N:6}', false, 1),
    (v_id, 'vs', '{N}', false, v_id * 100000 + 1),
    (v_id, 'contract', 'SM{YYYY}{N:4}', true, 1);
  return v_id;
end;
$$;

-- A person (or, with p_company, a company) customer of an operator (a new operator if null).
create or replace function tests.make_customer(
  p_operator_id bigint default null, p_last_name text default 'Novák', p_first_name text default 'Jan',
  p_created_on date default '2020-01-01', p_company text default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint;
begin
  insert into crm.customers (operator_id, kind, first_name, last_name, company_name, street, house_no, city, zip,
                             created_on)
  values (coalesce(p_operator_id, tests.make_operator()), case when p_company is null then 'person' else 'company' end,
          p_first_name, p_last_name, p_company, 'Vinohradská', '12', 'Praha', '120 00', p_created_on)
  returning id into v_id;
  return v_id;
end;
$$;

-- A tariff with a monthly price from 2020-01-01 (a new product of a new class; a new operator if null).
create or replace function tests.make_tariff(
  p_price numeric, p_operator_id bigint default null, p_price_mode text default 'with_vat',
  p_vat_class text default 'standard'
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_suffix text := substr(md5(random()::text), 1, 8);
  v_class bigint;
  v_product bigint;
  v_id bigint;
begin
  insert into catalog.classes (code, name, kind) values ('c' || v_suffix, 'Internet ' || v_suffix, 'service')
  returning id into v_class;
  insert into catalog.products (operator_id, class_id, code, name, price_mode, vat_class)
  values (coalesce(p_operator_id, tests.make_operator()), v_class, 'p' || v_suffix, 'Internet ' || v_suffix,
          p_price_mode, p_vat_class)
  returning id into v_product;
  insert into catalog.tariffs (product_id, code, name) values (v_product, 't' || v_suffix, 'Tariff ' || p_price)
  returning id into v_id;
  insert into catalog.prices (tariff_id, valid, monthly_fee) values (v_id, daterange('2020-01-01', null), p_price);
  return v_id;
end;
$$;

-- What a service has left behind: its audit rows (service, its tariff periods and moves), its
-- provisioning outbox rows and their revision. Definer so a test can look while running as staff.
create or replace function tests.service_trace(
  p_service_id bigint, out audit_rows integer, out bus_rows integer, out revision integer
)
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  select
    (select count(*)::integer from audit.records r
      where (r.table_schema, r.table_name) = ('crm', 'services') and r.record_id = p_service_id::text
         or (r.table_schema = 'crm' and r.table_name in ('service_tariffs', 'service_moves')
             and coalesce(r.new_values, r.old_values) ->> 'service_id' = p_service_id::text)),
    (select count(*)::integer from bus.events e
      where e.topic = 'provisioning' and e.entity = 'service:' || p_service_id),
    (select max(e.revision) from bus.events e
      where e.topic = 'provisioning' and e.entity = 'service:' || p_service_id);
$$;

-- ---------------------------------------------------------------------------------------------
-- Fixture makers for the network inventory (call as the superuser; each returns the new row's id).

-- A site (POP) with a code.
create or replace function tests.net_make_site(p_code text default null, p_kind text default 'pop')
returns bigint
language sql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
  insert into net.sites (code, name, kind, city, latitude, longitude)
  values (coalesce(p_code, 's' || substr(md5(random()::text), 1, 8)), 'Site ' || coalesce(p_code, ''), p_kind,
          'Jihlava', 49.396000, 15.591000)
  returning id;
$$;

-- A device of a model of this kind; with a parent it gets an uplink interface, a port on the
-- parent and a link of the given medium between them, and hangs on that port.
create or replace function tests.net_make_device(
  p_name text, p_parent_id bigint default null, p_kind text default 'switch', p_medium text default 'fibre',
  p_is_core boolean default false, p_site_id bigint default null
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_model bigint;
  v_id bigint;
  v_up bigint;
  v_port bigint;
begin
  select id into v_model from net.device_models where manufacturer = 'Test' and model = p_kind;
  if v_model is null then
    insert into net.device_models (manufacturer, model, kind) values ('Test', p_kind, p_kind) returning id into v_model;
  end if;
  insert into net.devices (name, model_id, role, site_id, is_core)
  values (p_name, v_model, case when p_kind = 'cpe' then 'customer' else 'operator' end, p_site_id, p_is_core)
  returning id into v_id;
  if p_parent_id is not null then
    insert into net.interfaces (device_id, name, kind)
    values (v_id, 'uplink', case p_medium when 'radio' then 'wireless' else 'ethernet' end)
    returning id into v_up;
    insert into net.interfaces (device_id, name, kind)
    values (p_parent_id, 'port-' || p_name, case p_medium when 'radio' then 'wireless' else 'sfp' end)
    returning id into v_port;
    insert into net.links (a_interface_id, b_interface_id, medium, speed_mbps)
    values (v_port, v_up, p_medium, case p_medium when 'fibre' then 10000 when 'radio' then 300 else 1000 end);
    update net.devices set parent_device_id = p_parent_id, parent_interface_id = v_port where id = v_id;
  end if;
  return v_id;
end;
$$;

-- A store of a kind, reused when one of that name exists (there is only one customer store).
create or replace function tests.net_store(p_kind text, p_name text default null)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint;
begin
  select id into v_id from net.stores
   where (p_kind = 'customer' and kind = 'customer') or name = coalesce(p_name, 'Test ' || p_kind);
  if v_id is null then
    insert into net.stores (name, kind) values (coalesce(p_name, 'Test ' || p_kind), p_kind) returning id into v_id;
  end if;
  return v_id;
end;
$$;

-- A running service of a tariff for a customer (a new customer and tariff of a new operator if null).
create or replace function tests.net_make_service(
  p_customer_id bigint default null, p_tariff_id bigint default null, p_from date default '2024-01-01'
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_customer bigint := p_customer_id;
  v_tariff bigint := p_tariff_id;
  v_operator bigint;
begin
  if v_customer is null then
    v_operator := coalesce((select p.operator_id from catalog.tariffs t join catalog.products p on p.id = t.product_id
                             where t.id = v_tariff), tests.make_operator());
    v_customer := tests.make_customer(v_operator);
  end if;
  if v_tariff is null then
    v_tariff := tests.make_tariff(500, (select operator_id from crm.customers where id = v_customer));
  end if;
  return crm.activate_service(v_customer, v_tariff, p_from, null, '{"state": "active"}');
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- A small catalogue for the web client's tests: an operator with number series, an internet
-- class with a typed service parameter (download, 1–10000 Mbit/s), internet tariffs of 300 and
-- 500 Kč and a TV tariff of 200 Kč (with VAT, from 2020-01-01), and a bundle "Internet + TV" with
-- 10 % off the TV. Returns the operator's id; codes are unique per operator.
create or replace function tests.make_catalogue(p_code text default null)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_operator bigint := tests.make_operator(p_code);
  v_suffix text := substr(md5(random()::text), 1, 8);
  v_inet_class bigint;
  v_tv_class bigint;
  v_inet bigint;
  v_tv bigint;
  v_t300 bigint;
  v_t500 bigint;
  v_tvbasic bigint;
  v_bundle bigint;
begin
  insert into catalog.classes (code, name, kind) values ('inet_' || v_suffix, 'Internet', 'service')
  returning id into v_inet_class;
  insert into catalog.classes (code, name, kind) values ('tv_' || v_suffix, 'Television', 'service')
  returning id into v_tv_class;
  insert into crm.parameter_definitions (entity, class_id, code, name, type, min_value, max_value, unit, position)
  values ('service', v_inet_class, 'download', 'Download', 'number', 1, 10000, 'Mbit/s', 10);
  insert into catalog.products (operator_id, class_id, code, name) values (v_operator, v_inet_class, 'inet', 'Internet')
  returning id into v_inet;
  insert into catalog.products (operator_id, class_id, code, name) values (v_operator, v_tv_class, 'tv', 'Television')
  returning id into v_tv;
  insert into catalog.tariffs (product_id, code, name, position) values (v_inet, 'i300', 'Fiber 300', 1)
  returning id into v_t300;
  insert into catalog.tariffs (product_id, code, name, position) values (v_inet, 'i500', 'Fiber 500', 2)
  returning id into v_t500;
  insert into catalog.tariffs (product_id, code, name) values (v_tv, 'tvbasic', 'TV Basic') returning id into v_tvbasic;
  insert into catalog.prices (tariff_id, valid, monthly_fee) values
    (v_t300, daterange('2020-01-01', null), 300), (v_t500, daterange('2020-01-01', null), 500),
    (v_tvbasic, daterange('2020-01-01', null), 200);
  insert into catalog.bundles (operator_id, code, name) values (v_operator, 'combo', 'Internet + TV')
  returning id into v_bundle;
  insert into catalog.bundle_items (bundle_id, tariff_id, discount_percent) values
    (v_bundle, v_t300, 0), (v_bundle, v_tvbasic, 10);
  return v_operator;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Rating (BIL-3). Call as the superuser; each returns the new row's id.

-- A tariff of a new service class with a monthly price and tariff parameters, each defined for the
-- class (a number, or a text when the value is not one): {"free_minutes": "100", "rate_table":
-- "biz", "data_cap_gb": "50", "data_price_per_gb": "20"}. The class has the service parameter
-- phone_number too.
create or replace function tests.make_usage_tariff(
  p_operator_id bigint, p_params jsonb default '{}', p_price numeric default 300
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_suffix text := substr(md5(random()::text), 1, 8);
  v_class bigint;
  v_product bigint;
  v_id bigint;
  v_key text;
  v_value text;
begin
  insert into catalog.classes (code, name, kind) values ('u' || v_suffix, 'Usage ' || v_suffix, 'service')
  returning id into v_class;
  insert into crm.parameter_definitions (entity, class_id, code, name, type, pattern)
  values ('service', v_class, 'phone_number', 'Phone number', 'text', '^\+\d{8,15}$');
  for v_key, v_value in select key, value from jsonb_each_text(coalesce(p_params, '{}')) loop
    insert into crm.parameter_definitions (entity, class_id, code, name, type)
    values ('tariff', v_class, v_key, v_key, case when v_value ~ '^\d+(\.\d+)?$' then 'number' else 'text' end);
  end loop;
  insert into catalog.products (operator_id, class_id, code, name)
  values (p_operator_id, v_class, 'p' || v_suffix, 'Usage ' || v_suffix) returning id into v_product;
  insert into catalog.tariffs (product_id, code, name) values (v_product, 't' || v_suffix, 'Tariff ' || v_suffix)
  returning id into v_id;
  insert into catalog.prices (tariff_id, valid, monthly_fee) values (v_id, daterange('2020-01-01', null), p_price);
  perform crm.set_parameters('tariff', v_id, p_params);
  return v_id;
end;
$$;

-- A running voice service of a tariff (tests.make_usage_tariff) from a date, holding a phone number.
create or replace function tests.make_voice_service(
  p_customer_id bigint, p_tariff_id bigint, p_number text, p_from date default '2026-01-01'
)
returns bigint
language sql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
  select crm.activate_service(p_customer_id, p_tariff_id, p_from, null,
                              jsonb_build_object('state', 'active', 'params', jsonb_build_object('phone_number', p_number)));
$$;

-- An operator's rate table (the default one unless p_default is false), with the time bands
-- peak (Monday to Friday 07:00-19:00), offpeak (the other weekday hours) and weekend (and
-- 2026-11-17, a public holiday, rated as the weekend), and prices from 2020-01-01 per minute:
--   420 Czech fixed 1.00 peak / 0.50 off-peak and weekend; 4206 and 4207 Czech mobile 2.00 / 1.50
--   (60/60, included minutes apply); 420112 emergency 0; 4208 free phone 0; 4201188 directory 12.00
--   with a connection fee of 5.00; 4209 premium 30.00 (1/1); 421 Slovakia 5.00, 42190 Slovak
--   mobile 7.00 (60/60); 43 Austria 6.00 (60/1); 44 United Kingdom 4.00 (1/1); 49 Germany 5.50
--   (30/30): international and special numbers in every band, no included minutes.
create or replace function tests.make_rate_table(
  p_operator_id bigint, p_code text default 'standard', p_default boolean default true
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_table bigint;
  v_peak bigint;
  v_off bigint;
  v_weekend bigint;
  v_dest bigint;
  r record;
begin
  insert into billing.time_bands (operator_id, code, name)
  values (p_operator_id, 'peak', 'Peak'), (p_operator_id, 'offpeak', 'Off-peak'), (p_operator_id, 'weekend', 'Weekend')
  on conflict (operator_id, code) do nothing;
  select id into v_peak from billing.time_bands where operator_id = p_operator_id and code = 'peak';
  select id into v_off from billing.time_bands where operator_id = p_operator_id and code = 'offpeak';
  select id into v_weekend from billing.time_bands where operator_id = p_operator_id and code = 'weekend';
  if not exists (select from billing.time_band_hours where operator_id = p_operator_id) then
    insert into billing.time_band_hours (operator_id, band_id, isodow, minutes)
    select p_operator_id, b.band, d, b.minutes
      from generate_series(1, 7) d
     cross join (values (v_peak, int4range(420, 1140), false), (v_off, int4range(0, 420), false),
                        (v_off, int4range(1140, 1440), false), (v_weekend, int4range(0, 1440), true)) b (band, minutes, weekend)
     where (d >= 6) = b.weekend;
    insert into billing.holidays (operator_id, day, band_id, name)
    values (p_operator_id, '2026-11-17', v_weekend, 'Den boje za svobodu a demokracii');
  end if;
  insert into billing.rate_tables (operator_id, code, name, is_default)
  values (p_operator_id, p_code, 'Rates ' || p_code, p_default) returning id into v_table;
  for r in
    select * from (values
      ('420', 'Czech Republic fixed', 'fixed', true, 1.00, 0.50, 0.00, 60, 60),
      ('4206', 'Czech mobile', 'mobile', true, 2.00, 1.50, 0.00, 60, 60),
      ('4207', 'Czech mobile', 'mobile', true, 2.00, 1.50, 0.00, 60, 60),
      ('420112', 'Emergency', 'emergency', false, 0.00, null, 0.00, 1, 1),
      ('4208', 'Free phone', 'special', false, 0.00, null, 0.00, 1, 1),
      ('4201188', 'Directory enquiries', 'special', false, 12.00, null, 5.00, 60, 60),
      ('4209', 'Premium rate', 'premium', false, 30.00, null, 0.00, 1, 1),
      ('421', 'Slovakia', 'international', false, 5.00, null, 0.00, 60, 60),
      ('42190', 'Slovakia mobile', 'international', false, 7.00, null, 0.00, 60, 60),
      ('43', 'Austria', 'international', false, 6.00, null, 0.00, 60, 1),
      ('44', 'United Kingdom', 'international', false, 4.00, null, 0.00, 1, 1),
      ('49', 'Germany', 'international', false, 5.50, null, 0.00, 30, 30)
    ) as x (prefix, name, kind, included, peak, other, fee, first_inc, next_inc)
  loop
    insert into billing.destinations (operator_id, rate_table_id, prefix, name, kind, uses_included_minutes)
    values (p_operator_id, v_table, r.prefix, r.name, r.kind, r.included) returning id into v_dest;
    if r.other is null then
      insert into billing.rates (operator_id, destination_id, band_id, valid, price_per_minute, connection_fee,
                                 first_increment, next_increment)
      values (p_operator_id, v_dest, null, daterange('2020-01-01', null), r.peak, r.fee, r.first_inc, r.next_inc);
    else
      insert into billing.rates (operator_id, destination_id, band_id, valid, price_per_minute, connection_fee,
                                 first_increment, next_increment)
      values (p_operator_id, v_dest, v_peak, daterange('2020-01-01', null), r.peak, r.fee, r.first_inc, r.next_inc),
             (p_operator_id, v_dest, null, daterange('2020-01-01', null), r.other, r.fee, r.first_inc, r.next_inc);
    end if;
  end loop;
  return v_table;
end;
$$;

-- One call record as the import stores it (a call of the operator at a local time of its zone).
create or replace function tests.make_call(
  p_operator_id bigint, p_src text, p_dst text, p_local_start timestamp, p_billsec integer,
  p_disposition text default 'ANSWERED'
)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_import bigint;
  v_start timestamptz := p_local_start at time zone crm.business_zone(p_operator_id);
  v_id bigint;
begin
  select id into v_import from billing.cdr_imports where operator_id = p_operator_id and file_name = 'tests.make_call';
  if v_import is null then
    insert into billing.cdr_imports (operator_id, file_name, sha256, time_zone)
    values (p_operator_id, 'tests.make_call', sha256(convert_to('tests.make_call ' || p_operator_id, 'UTF8')),
            crm.business_zone(p_operator_id))
    returning id into v_import;
  end if;
  insert into billing.calls (operator_id, import_id, line_no, line_key, src, dst, start_at, answer_at, end_at,
                             duration, billsec, disposition, account_number, calling_number, called_number)
  values (p_operator_id, v_import, 0, gen_random_uuid(), p_src, p_dst, v_start,
          case when p_disposition = 'ANSWERED' then v_start + interval '3 seconds' end,
          v_start + make_interval(secs => p_billsec + 3), p_billsec + 3, p_billsec, p_disposition, null,
          billing.e164(p_src), billing.called_digits(p_dst))
  returning id into v_id;
  update billing.cdr_imports
     set lines = lines + 1, calls = calls + 1, first_call = least(first_call, v_start),
         last_call = greatest(last_call, v_start)
   where id = v_import;
  return v_id;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- A lawful-request scenario (DR-4), numbered n (1…250) so that several can live in one database.
-- Two customers behind CGNAT public address 198.18.n.1: Jan Novák (service s1 with contract, a CPE
-- on a radio link to access point ap, MAC …:01) holds private 100.127.n.5 and the port block
-- 1024–2047 from t0 − 2 h to t0 + 2 h; Eva Svobodová (s2, MAC …:02) holds 100.127.n.6, the block
-- 2048–3071 from t0 − 2 h with no end logged, and a single-port translation 51000 → 4000 from
-- t0 + 10 min to t0 + 20 min. Novák also holds public 198.19.n.10 directly. Flows: one each way
-- on 198.18.n.1:1500 at t0 + 5 min, one from 100.127.n.6:51000 at t0 + 11 min. t0 is three days
-- ago (a whole hour). Call as the superuser.
create or replace function tests.lawful_scenario(
  p_n integer, out op bigint, out c1 bigint, out c2 bigint, out s1 bigint, out s2 bigint, out ap bigint,
  out cpe bigint, out t0 timestamptz, out pub inet, out priv1 inet, out priv2 inet, out direct inet
)
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_tariff bigint;
  v_contract bigint;
  v_core bigint;
begin
  op := tests.make_operator();
  c1 := tests.make_customer(op, 'Novák', 'Jan');
  c2 := tests.make_customer(op, 'Svobodová', 'Eva');
  v_tariff := tests.make_tariff(390, op);
  s1 := tests.net_make_service(c1, v_tariff);
  s2 := tests.net_make_service(c2, v_tariff);
  insert into crm.contracts (customer_id, operator_id, number, valid_from, state, signed_on)
  values (c1, op, 'SM-LAW-' || p_n, '2024-01-01', 'signed', '2024-01-01') returning id into v_contract;
  update crm.services set contract_id = v_contract where id = s1;
  v_core := tests.net_make_device('law-core-' || p_n, null, 'router', 'fibre', true);
  ap := tests.net_make_device('law-ap-' || p_n, v_core, 'ap', 'fibre');
  cpe := tests.net_make_device('law-cpe-' || p_n, ap, 'cpe', 'radio');
  insert into net.service_devices (service_id, device_id, role, valid) values (s1, cpe, 'cpe', tstzrange('2024-01-01', null));
  insert into net.mac_assignments (mac, service_id, device_id, valid) values
    (('00:11:22:33:' || lpad(to_hex(p_n), 2, '0') || ':01')::macaddr, s1, cpe, tstzrange('2024-01-01', null)),
    (('00:11:22:33:' || lpad(to_hex(p_n), 2, '0') || ':02')::macaddr, s2, null, tstzrange('2024-01-01', null));
  pub := ('198.18.' || p_n || '.1')::inet;
  priv1 := ('100.127.' || p_n || '.5')::inet;
  priv2 := ('100.127.' || p_n || '.6')::inet;
  direct := ('198.19.' || p_n || '.10')::inet;
  perform net.assign_ip(priv1, s1, null, '2024-01-10');
  perform net.assign_ip(priv2, s2, null, '2024-01-10');
  perform net.assign_ip(direct, s1, null, '2024-01-10');
  t0 := date_trunc('hour', now()) - interval '3 days';
  insert into flow.nat_events (exporter, event_time, nat_event, src_addr, post_src_addr, port_range_start, port_range_end)
  values ('10.0.0.1', t0 - interval '2 hours', 14, priv1, pub, 1024, 2047),
         ('10.0.0.1', t0 + interval '2 hours', 15, priv1, pub, 1024, 2047),
         ('10.0.0.1', t0 - interval '2 hours', 14, priv2, pub, 2048, 3071);
  insert into flow.nat_events (exporter, event_time, nat_event, protocol, src_addr, src_port, dst_addr, dst_port,
                               post_src_addr, post_src_port)
  values ('10.0.0.1', t0 + interval '10 minutes', 1, 6, priv2, 51000, '192.0.2.80', 443, pub, 4000),
         ('10.0.0.1', t0 + interval '20 minutes', 2, 6, priv2, 51000, '192.0.2.80', 443, pub, 4000);
  insert into flow.flows (exporter, flow_start, flow_end, src_addr, dst_addr, src_port, dst_port, protocol, bytes, packets)
  values ('10.0.0.1', t0 + interval '5 minutes', t0 + interval '6 minutes', pub, '192.0.2.80', 1500, 443, 6, 1000, 10),
         ('10.0.0.1', t0 + interval '5 minutes', t0 + interval '6 minutes', '192.0.2.80', pub, 443, 1500, 6, 50000, 40),
         ('10.0.0.1', t0 + interval '11 minutes', t0 + interval '12 minutes', priv2, '192.0.2.80', 51000, 443, 6, 700, 7);
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- uniCredit prepaid credit (UC-1, UC-2). Call as the superuser; each returns the new row's id.

-- A prepaid-credit billing plan of an operator: its services are renewed from the customer's credit.
create or replace function tests.credit_plan(p_operator_id bigint)
returns bigint
language sql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
  insert into billing.plans (operator_id, code, name, fixed_document, usage_document, prepaid_credit)
  values (p_operator_id, 'uc-' || substr(md5(random()::text), 1, 8), 'uniCredit prepaid', 'none', 'none', true)
  returning id;
$$;

-- A running service of a tariff on a new prepaid-credit plan of the customer's operator, from a date.
create or replace function tests.credit_service(p_customer_id bigint, p_tariff_id bigint, p_from date default '2024-01-01')
returns bigint
language sql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
  select crm.activate_service(p_customer_id, p_tariff_id, p_from, null,
                              jsonb_build_object('state', 'active', 'billing_plan_id',
                                                 tests.credit_plan((select c.operator_id from crm.customers c
                                                                     where c.id = p_customer_id))));
$$;

-- ---------------------------------------------------------------------------------------------
-- Billing (BIL-2, BIL-4). Call as the superuser.

-- An operator (tests.make_operator) with the number series of its documents: invoices
-- FV{YYYY}{N:5}, credit notes DB…, payment requests VP…, advance invoices ZF…; not a VAT payer
-- with p_vat_payer false.
create or replace function tests.billing_operator(p_code text default null, p_vat_payer boolean default true)
returns bigint
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint := tests.make_operator(p_code);
begin
  insert into crm.number_series (operator_id, kind, format, yearly) values
    (v_id, 'invoice', 'FV{YYYY}{N:5}', true), (v_id, 'credit_note', 'DB{YYYY}{N:5}', true),
    (v_id, 'payment_request', 'VP{YYYY}{N:5}', true), (v_id, 'advance_invoice', 'ZF{YYYY}{N:5}', true);
  if not p_vat_payer then
    update crm.operators set vat_payer = false where id = v_id;
  end if;
  return v_id;
end;
$$;

-- A billing plan of an operator with the options given ({"tariff_change": "full_old_prorata_new",
-- "fixed_document": "payment_request", …}, as billing.plans' columns).
create or replace function tests.billing_plan(p_operator_id bigint, p_options jsonb default '{}')
returns bigint
language sql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
  insert into billing.plans (operator_id, code, name, fixed_document, usage_document, mode, tax_point_rule, due_days,
                             tariff_change, reverse_charge, advance_invoices)
  select p_operator_id, 'p-' || substr(md5(random()::text), 1, 8), 'Test plan',
         coalesce(p_options ->> 'fixed_document', 'invoice'), coalesce(p_options ->> 'usage_document', 'invoice'),
         coalesce(p_options ->> 'mode', 'actual'), coalesce(p_options ->> 'tax_point_rule', 'period_end'),
         coalesce((p_options ->> 'due_days')::integer, 14), coalesce(p_options ->> 'tariff_change', 'prorata_both'),
         coalesce((p_options ->> 'reverse_charge')::boolean, false),
         coalesce((p_options ->> 'advance_invoices')::boolean, false)
  returning id;
$$;
