-- 0014 rating: call records, their rating and usage charges. Frozen once merged.
--
-- Voice (BIL-3): the phone numbers of voice services over time, imports of Asterisk's Master.csv,
-- the call records, the operator's time bands and rate tables, and the rated result of each call.
-- TV pay-per-view purchases. Data volume over a cap needs no table of its own: it is computed from
-- crm.customer_traffic and the tariff's parameters. Functions, policies and grants live in
-- procedures/80_billing/4x_*.sql.

-- ---------------------------------------------------------------------------------------------
-- Phone numbers of voice services, with validity.
--
-- A table with validity rather than the service's phone_number parameter alone: numbers are
-- ported and given again to other services, and a call must go to the service that held its
-- number when the call began (as net.ip_assignments does for addresses); the exclusion constraint
-- makes sure one number has one holder at a time. Staff still type the number once, as the
-- service's phone_number parameter: a trigger keeps this history from it.

create table billing.phone_numbers (
    id bigint generated always as identity primary key,
    number text not null constraint phone_numbers_number_format_check check (number ~ '^\+[1-9]\d{6,14}$'),
    service_id bigint not null references crm.services (id),
    valid tstzrange not null constraint phone_numbers_valid_check check (not isempty(valid) and not lower_inf(valid)),
    created_at timestamptz not null default now(),
    constraint phone_numbers_one_holder exclude using gist (number with =, valid with &&)
);
create index phone_numbers_service_idx on billing.phone_numbers (service_id);
comment on table billing.phone_numbers is
'Which voice service held a phone number (E.164) when: one holder at a time; kept from the service''s phone_number
parameter.';

-- ---------------------------------------------------------------------------------------------
-- CDR imports and call records

create table billing.cdr_imports (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    file_name text not null constraint cdr_imports_file_name_length_check check (length(file_name) <= 500),
    sha256 bytea not null constraint cdr_imports_sha256_check check (octet_length(sha256) = 32),
    time_zone text not null,
    lines integer not null default 0,
    calls integer not null default 0,
    duplicates integer not null default 0,
    bad_lines integer not null default 0,
    first_call timestamptz,
    last_call timestamptz,
    os_user text,
    db_role text not null default session_user,
    user_id bigint references auth.users (id),
    imported_at timestamptz not null default now(),
    constraint cdr_imports_once unique (operator_id, sha256)
);
create index cdr_imports_operator_idx on billing.cdr_imports (operator_id, id);
comment on table billing.cdr_imports is
'Call record files imported (one row per operator and file content, by SHA-256: the same file twice imports
nothing): line, call, duplicate and bad line counts, who and when. [not audited: is itself a log]';

create table billing.cdr_import_errors (
    import_id bigint not null references billing.cdr_imports (id),
    line_no integer not null,
    field text,
    message text not null,
    line text not null,
    primary key (import_id, line_no)
);
comment on table billing.cdr_import_errors is
'The lines of a call record file that were not imported: number, the field at fault and why.
[not audited: part of its import''s log]';

-- The columns of Asterisk's Master.csv that matter, as written by cdr_csv (see
-- procedures/80_billing/41_cdr_import.sql for the layout and its source), and the numbers derived
-- from them once at import: who pays (accountcode and src as E.164) and the called number in
-- international form for the prefix match.
create table billing.calls (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    import_id bigint not null references billing.cdr_imports (id),
    line_no integer not null,
    -- The same record in a later file (Master.csv only grows) is recognised and skipped.
    line_key uuid not null,
    accountcode text not null default '',
    src text not null default '',
    dst text not null,
    dcontext text not null default '',
    clid text not null default '',
    channel text not null default '',
    dstchannel text not null default '',
    lastapp text not null default '',
    lastdata text not null default '',
    start_at timestamptz not null,
    answer_at timestamptz,
    end_at timestamptz not null,
    duration integer not null constraint calls_duration_check check (duration >= 0),
    billsec integer not null constraint calls_billsec_check check (billsec >= 0),
    disposition text not null,
    amaflags text not null default '',
    uniqueid text not null default '',
    account_number text,
    calling_number text,
    called_number text not null,
    constraint calls_line_key_unique unique (operator_id, line_key),
    constraint calls_end_check check (end_at >= start_at)
);
create index calls_operator_start_idx on billing.calls (operator_id, start_at);
comment on table billing.calls is
'Call records (CDR) as Asterisk wrote them, with the paying numbers and the called number derived at import.
[not audited: imported records nobody edits, millions of rows]';

-- ---------------------------------------------------------------------------------------------
-- Time bands: every minute of the week in the operator's zone belongs to at most one band
-- (peak, off-peak, weekend …); holidays are rated in one band all day.

create table billing.time_bands (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    code text not null constraint time_bands_code_format_check check (code ~ '^[a-z][a-z0-9_]{0,29}$'),
    name text not null constraint time_bands_name_length_check check (length(name) <= 200),
    created_at timestamptz not null default now(),
    unique (operator_id, code),
    unique (operator_id, id)
);
comment on table billing.time_bands is 'Time bands of an operator''s call prices (peak, off-peak, weekend …).';

create table billing.time_band_hours (
    id bigint generated always as identity primary key,
    operator_id bigint not null,
    band_id bigint not null,
    isodow smallint not null constraint time_band_hours_isodow_check check (isodow between 1 and 7),
    -- Minutes of the day, [from, to): 07:00-19:00 is [420, 1140).
    minutes int4range not null
    constraint time_band_hours_minutes_check check (not isempty(minutes) and minutes <@ int4range(0, 1440)),
    foreign key (operator_id, band_id) references billing.time_bands (operator_id, id) on delete cascade,
    constraint time_band_hours_no_overlap exclude using gist (operator_id with =, isodow with =, minutes with &&)
);
create index time_band_hours_band_idx on billing.time_band_hours (band_id);
comment on table billing.time_band_hours is
'When a time band applies: a weekday (ISO, 1 = Monday) and minutes of the day in the operator''s zone; never two bands
at once.';

create table billing.holidays (
    id bigint generated always as identity primary key,
    operator_id bigint not null,
    day date not null,
    band_id bigint not null,
    name text not null constraint holidays_name_length_check check (length(name) <= 200),
    unique (operator_id, day),
    foreign key (operator_id, band_id) references billing.time_bands (operator_id, id) on delete cascade
);
comment on table billing.holidays is 'Days rated in one time band all day (public holidays as the weekend).';

-- ---------------------------------------------------------------------------------------------
-- Rate tables: destinations by prefix, their prices per minute by time band and date, the billing
-- increments and a connection fee. Unit prices have four decimals, as carriers' rate sheets do;
-- each call's price is rounded to the haléř.

create table billing.rate_tables (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    code text not null constraint rate_tables_code_format_check check (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$'),
    name text not null constraint rate_tables_name_length_check check (length(name) <= 200),
    -- Whether its prices include VAT (as catalog.products.price_mode).
    price_mode text not null default 'with_vat' check (price_mode in ('with_vat', 'without_vat')),
    -- The operator's rate table for tariffs that name none (tariff parameter rate_table).
    is_default boolean not null default false,
    created_at timestamptz not null default now(),
    unique (operator_id, code),
    unique (operator_id, id)
);
create unique index rate_tables_one_default on billing.rate_tables (operator_id) where is_default;
comment on table billing.rate_tables is
'Call rate tables of an operator; a voice tariff names one (parameter rate_table), else the default one applies.';

create table billing.destinations (
    id bigint generated always as identity primary key,
    operator_id bigint not null,
    rate_table_id bigint not null,
    -- Digits of the called number in international form (420 Czech Republic, 4206 and 4207 Czech
    -- mobile networks, 421 Slovakia …); the longest prefix that matches decides.
    prefix text not null constraint destinations_prefix_format_check check (prefix ~ '^\d{1,15}$'),
    name text not null constraint destinations_name_length_check check (length(name) <= 200),
    kind text not null default 'fixed'
    check (kind in ('fixed', 'mobile', 'international', 'special', 'premium', 'emergency', 'onnet')),
    -- Whether calls here use the tariff's included minutes (national calls do, international not).
    uses_included_minutes boolean not null default true,
    unique (rate_table_id, prefix),
    unique (operator_id, id),
    foreign key (operator_id, rate_table_id) references billing.rate_tables (operator_id, id) on delete cascade
);
comment on table billing.destinations is 'Call destinations of a rate table by number prefix, and whether included
minutes cover them.';

create table billing.rates (
    id bigint generated always as identity primary key,
    operator_id bigint not null,
    destination_id bigint not null,
    -- The time band the price is for; null: every band that has no price of its own.
    band_id bigint,
    valid daterange not null constraint rates_valid_check check (not isempty(valid)),
    price_per_minute numeric(12, 4) not null
    constraint rates_price_per_minute_finite_check check (price_per_minute >= 0 and price_per_minute < 'Infinity'),
    connection_fee numeric(14, 2) not null default 0
    constraint rates_connection_fee_finite_check check (connection_fee >= 0 and connection_fee < 'Infinity'),
    -- Billing increments in seconds: 60/60 charges whole minutes, 1/1 seconds, 60/1 a first minute
    -- and then seconds.
    first_increment integer not null default 60 constraint rates_first_increment_check check (
        first_increment between 1 and 3600
    ),
    next_increment integer not null default 60 constraint rates_next_increment_check check (
        next_increment between 1 and 3600
    ),
    created_at timestamptz not null default now(),
    foreign key (operator_id, destination_id) references billing.destinations (operator_id, id) on delete cascade,
    foreign key (operator_id, band_id) references billing.time_bands (operator_id, id),
    constraint rates_never_overlap exclude using gist (
        destination_id with =, (coalesce(band_id, 0)) with =, valid with &&
    )
);
create index rates_destination_idx on billing.rates (destination_id);
create index rates_band_idx on billing.rates (band_id) where band_id is not null;
comment on table billing.rates is
'Dated call prices of a destination per time band (or for every band), with billing increments and connection fee.';

-- ---------------------------------------------------------------------------------------------
-- The rating of calls, per operator and period (the calls that began on the period's days in the
-- operator's zone).

create table billing.rating_runs (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    period daterange not null,
    calls integer not null default 0,
    rated integer not null default 0,
    not_billable integer not null default 0,
    unrated integer not null default 0,
    kept integer not null default 0,
    amount numeric(14, 2) not null default 0 constraint rating_runs_amount_finite_check check (
        amount > '-Infinity' and amount < 'Infinity'
    ),
    db_role text not null default session_user,
    user_id bigint references auth.users (id),
    started_at timestamptz not null default now(),
    finished_at timestamptz
);
create index rating_runs_operator_idx on billing.rating_runs (operator_id, period);
comment on table billing.rating_runs is
'Each rating of an operator''s calls for a period: how many calls were rated, not billable, left unrated or kept
(already billed), the amount, who and when. [not audited: is itself a log]';

-- One row per call of a rated period, written by billing.rate_calls in one statement, in the order
-- of the services (the BRIN index finds a run's rows and, within them, a service's). No primary key
-- and no foreign keys: one rating per call is the rating's own rule (one rating of an operator at a
-- time, under a lock; the periods of an operator never overlap; a period's ratings are deleted
-- before they are made again), and each B-tree or reference check would cost more than the rating
-- itself (measured: 1.6 to 2.5 s a million rows each on the benchmark machine).
create table billing.rated_calls (
    call_id bigint not null,
    run_id bigint not null,
    service_id bigint,
    tariff_id bigint,
    -- rated; not_billable (not answered, no billable second, AMA flag OMIT); or why it could not
    -- be rated: no_service (its number belonged to no service then: incoming calls, numbers given
    -- to nobody), no_rate_table, no_destination, no_band, no_rate.
    status text not null check (
        status in ('rated', 'not_billable', 'no_service', 'no_rate_table', 'no_destination', 'no_band', 'no_rate')
    ),
    destination_id bigint,
    band_id bigint,
    rate_id bigint,
    charged_seconds integer not null default 0,
    free_seconds integer not null default 0,
    price numeric(14, 2) not null default 0 constraint rated_calls_price_finite_check check (
        price >= 0 and price < 'Infinity'
    ),
    constraint rated_calls_free_check check (free_seconds between 0 and charged_seconds)
);
create index rated_calls_run_service_brin on billing.rated_calls using brin (run_id, service_id)
with (pages_per_range = 16);
comment on table billing.rated_calls is
'The rated result of each call of a rated period (the period is its rating run''s): service, destination, time band,
seconds charged after the billing increments, included seconds used and price. [not audited: derived, computed again by
every rating]';

-- ---------------------------------------------------------------------------------------------
-- TV pay-per-view purchases, billed as usage in the period of their (business) date.

create table billing.ppv_purchases (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    service_id bigint not null references crm.services (id),
    title text not null constraint ppv_purchases_title_length_check check (length(btrim(title)) between 1 and 200),
    purchased_at timestamptz not null,
    -- In the price mode of the service's product (with or without VAT).
    price numeric(14, 2) not null constraint ppv_purchases_price_finite_check check (
        price >= 0 and price < 'Infinity'
    ),
    -- The TV platform's order number: the same purchase reported twice is kept once.
    external_ref text constraint ppv_purchases_external_ref_length_check check (length(external_ref) <= 100),
    created_by bigint references auth.users (id),
    created_at timestamptz not null default now(),
    unique (operator_id, external_ref)
);
create index ppv_purchases_service_idx on billing.ppv_purchases (service_id, purchased_at);
create index ppv_purchases_operator_idx on billing.ppv_purchases (operator_id, purchased_at);
comment on table billing.ppv_purchases is
'TV pay-per-view purchases of a service (title, time, price), billed as usage.';

-- ---------------------------------------------------------------------------------------------
-- The numbers of the voice services that exist already, from their phone_number parameter: held
-- from the service's first day to its last (in its operator's zone). A number two services give
-- at once stays with the older service.

insert into billing.phone_numbers (number, service_id, valid)
with given as (
    select
        v.value,
        s.id as service_id,
        s.valid,
        o.time_zone,
        regexp_replace(v.value, '\D', '', 'g') as digits
    from crm.parameter_values as v
    inner join crm.parameter_definitions as d on v.definition_id = d.id
    inner join crm.services as s on v.entity_id = s.id
    inner join crm.operators as o on s.operator_id = o.id
    where d.entity = 'service' and d.code = 'phone_number'
),

numbers as (
    select
        g.service_id,
        g.valid,
        g.time_zone,
        '+' || case
            when g.value ~ '^\s*\+' then g.digits
            when g.digits ~ '^00' then substr(g.digits, 3)
            when g.digits ~ '^420\d{9}$' then g.digits
            else '420' || g.digits
        end as number
    from given as g
)

select
    n.number,
    n.service_id,
    tstzrange(
        lower(n.valid)::timestamp at time zone n.time_zone,
        case when upper_inf(n.valid) then null else upper(n.valid)::timestamp at time zone n.time_zone end
    ) as valid
from numbers as n
where n.number ~ '^\+[1-9]\d{6,14}$'
order by n.service_id
on conflict do nothing;
