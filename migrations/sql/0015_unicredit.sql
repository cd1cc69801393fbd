-- 0015 unicredit: prepaid credit accounts, movements, reservations and gift certificates. Frozen once merged.
--
-- uniCredit (UC-1, UC-2): a customer's prepaid credit per operator, money (finanční) or points
-- (bodový). The free balance (volné) is what may be spent, reserved or refunded; the total balance
-- (zůstatek) is the free balance and what is reserved. Every change is a movement; the balances on
-- the account are kept by the functions of procedures/80_billing/50_credit.sql in the same statement
-- that writes the movement, and a statement trigger there checks that an account's balances are
-- the sums of its movements (the account row is what two concurrent spends lock and wait for).

-- ---------------------------------------------------------------------------------------------
-- accounts

create table billing.credit_accounts (
    id bigint generated always as identity primary key,
    customer_id bigint not null references crm.customers (id),
    operator_id bigint not null references crm.operators (id),
    kind text not null default 'money' constraint credit_accounts_kind_check check (kind in ('money', 'points')),
    -- Volné: what may be spent, reserved or refunded.
    free numeric(14, 2) not null default 0
    constraint credit_accounts_free_check check (free >= 0 and free < 'Infinity'),
    -- Held by reservations until they are spent or released.
    reserved numeric(14, 2) not null default 0
    constraint credit_accounts_reserved_check check (reserved >= 0 and reserved < 'Infinity'),
    -- Zůstatek: the free balance and the reservations.
    total numeric(14, 2) generated always as (free + reserved) stored
    constraint credit_accounts_total_finite_check check (total > '-Infinity' and total < 'Infinity'),
    last_top_up_at timestamptz,
    last_spent_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint credit_accounts_customer_operator_kind_key unique (customer_id, operator_id, kind)
);
create index credit_accounts_operator_idx on billing.credit_accounts (operator_id, id);
comment on table billing.credit_accounts is
'uniCredit prepaid credit: one account per customer, operator and kind (money or points), its free and total balance.';
comment on column billing.credit_accounts.free is 'Volné: what may be spent, reserved or refunded.';
comment on column billing.credit_accounts.reserved is 'What reservations hold until they are spent or released.';
comment on column billing.credit_accounts.total is 'Zůstatek: the free balance and the reservations.';

-- ---------------------------------------------------------------------------------------------
-- gift certificates (dárkové poukazy)

create table billing.gift_certificates (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    -- What the recipient gives at the desk: upper case letters, digits and dashes.
    code text not null constraint gift_certificates_code_check check (code ~ '^[A-Z0-9][A-Z0-9-]{3,39}$'),
    kind text not null default 'money' constraint gift_certificates_kind_check check (kind in ('money', 'points')),
    value numeric(14, 2) not null constraint gift_certificates_value_check check (value > 0 and value < 'Infinity'),
    donor text not null constraint gift_certificates_donor_length_check check (length(btrim(donor)) between 1 and 200),
    donor_customer_id bigint references crm.customers (id),
    recipient text constraint gift_certificates_recipient_length_check check (
        length(btrim(recipient)) between 1 and 200
    ),
    -- Only this customer may redeem it, when set.
    recipient_customer_id bigint references crm.customers (id),
    -- Redeemable on these days.
    valid daterange not null constraint gift_certificates_valid_check check (
        not isempty(valid) and not lower_inf(valid)
    ),
    note text constraint gift_certificates_note_length_check check (length(note) <= 2000),
    issued_by bigint references auth.users (id),
    issued_at timestamptz not null default now(),
    -- Redeemed once: by which customer, into which account, when and by whom.
    redeemed_customer_id bigint references crm.customers (id),
    redeemed_account_id bigint references billing.credit_accounts (id),
    redeemed_at timestamptz,
    redeemed_by bigint references auth.users (id),
    constraint gift_certificates_operator_code_key unique (operator_id, code),
    constraint gift_certificates_redeemed_check check (
        (redeemed_at is null) = (redeemed_customer_id is null)
        and (redeemed_at is null) = (redeemed_account_id is null)
        and (redeemed_at is not null or redeemed_by is null)
    )
);
comment on table billing.gift_certificates is
'uniCredit gift certificates: code, donor, recipient, value and validity; redeemed once into a credit account.';

-- ---------------------------------------------------------------------------------------------
-- reservations

create table billing.credit_reservations (
    id bigint generated always as identity primary key,
    account_id bigint not null references billing.credit_accounts (id),
    amount numeric(14, 2) not null
    constraint credit_reservations_amount_check check (amount > 0 and amount < 'Infinity'),
    purpose text not null constraint credit_reservations_purpose_length_check check (
        length(btrim(purpose)) between 1 and 500
    ),
    -- What it is held for: a service or a product (or neither, the purpose says).
    service_id bigint references crm.services (id),
    product_id bigint references catalog.products (id),
    state text not null default 'held' constraint credit_reservations_state_check check (
        state in ('held', 'spent', 'released')
    ),
    created_by bigint references auth.users (id),
    created_at timestamptz not null default now(),
    closed_by bigint references auth.users (id),
    closed_at timestamptz,
    constraint credit_reservations_closed_check check ((state = 'held') = (closed_at is null))
);
create index credit_reservations_account_idx on billing.credit_reservations (account_id) where state = 'held';
comment on table billing.credit_reservations is
'uniCredit reservations: an amount of an account''s credit held for a service or a product until spent or released.';

-- ---------------------------------------------------------------------------------------------
-- movements

create table billing.credit_movements (
    id bigint generated always as identity primary key,
    account_id bigint not null references billing.credit_accounts (id),
    kind text not null constraint credit_movements_kind_check check (
        kind in ('top_up', 'reserve', 'release', 'spend', 'return', 'refund')
    ),
    amount numeric(14, 2) not null constraint credit_movements_amount_check check (amount > 0 and amount < 'Infinity'),
    -- How a top-up came: cash at the desk, a bank payment paired 'to UC', a gift certificate.
    source text constraint credit_movements_source_check check (source in ('cash', 'payment', 'certificate')),
    payment_id bigint,
    certificate_id bigint references billing.gift_certificates (id),
    reservation_id bigint references billing.credit_reservations (id),
    -- What a spend paid: a service's billing period (as billing.charges.period) and the days of it
    -- it paid for, and the charge that bills it when there is one. A return gives back to the free
    -- balance what a paid period no longer costs (the service ended, was suspended or changed its
    -- tariff inside it); a period's price is its spends less its returns.
    service_id bigint references crm.services (id),
    period daterange constraint credit_movements_period_check check (not isempty(period)),
    covered daterange constraint credit_movements_covered_check check (not isempty(covered) and covered <@ period),
    charge_id bigint,
    reference text constraint credit_movements_reference_length_check check (length(reference) <= 200),
    -- What the movement does to the balances, from its kind (a spend of a reservation spends the
    -- reserved amount, any other spend the free balance).
    free_delta numeric(14, 2) generated always as (
        case
            when kind in ('top_up', 'release', 'return') then amount
            when kind = 'spend' and reservation_id is not null then 0
            else -amount
        end
    ) stored constraint credit_movements_free_delta_finite_check check (
        free_delta > '-Infinity' and free_delta < 'Infinity'
    ),
    reserved_delta numeric(14, 2) generated always as (
        case
            when kind = 'reserve' then amount
            when kind = 'release' or (kind = 'spend' and reservation_id is not null) then -amount
            else 0
        end
    ) stored constraint credit_movements_reserved_delta_finite_check check (
        reserved_delta > '-Infinity' and reserved_delta < 'Infinity'
    ),
    -- Who and when: the signed-in user (none for an agent or the console) and the database role.
    created_by bigint references auth.users (id),
    db_role text not null,
    created_at timestamptz not null default now(),
    constraint credit_movements_source_kind_check check ((kind = 'top_up') = (source is not null)),
    constraint credit_movements_payment_check check ((source = 'payment') = (payment_id is not null)),
    constraint credit_movements_certificate_check check ((source = 'certificate') = (certificate_id is not null)),
    constraint credit_movements_reservation_check check (
        (kind in ('reserve', 'release') and reservation_id is not null)
        or (kind = 'spend')
        or (kind in ('top_up', 'return', 'refund') and reservation_id is null)
    ),
    constraint credit_movements_spend_check check (
        kind = 'spend' or (kind = 'return' and service_id is not null and period is not null and charge_id is null)
        or (service_id is null and period is null and charge_id is null)
    ),
    constraint credit_movements_period_service_check check (period is null or service_id is not null),
    constraint credit_movements_covered_period_check check (covered is null or period is not null)
);
create index credit_movements_account_idx on billing.credit_movements (account_id, id);
-- A bank payment tops up once, a certificate is redeemed once, a reservation is held once and
-- closed once, a charge is paid once. A service's period may have several spends and returns (a
-- tariff change inside a paid period); the renewal locks the service and pays what is still owed.
create unique index credit_movements_payment_key on billing.credit_movements (payment_id) where payment_id is not null;
create unique index credit_movements_certificate_key on billing.credit_movements (certificate_id)
where certificate_id is not null;
create unique index credit_movements_reservation_key on billing.credit_movements (
    reservation_id, (kind = 'reserve')
) where reservation_id is not null;
create index credit_movements_service_period_idx on billing.credit_movements (service_id, lower(period))
where service_id is not null;
-- The periods not over yet, that the renewal checks again for what they cost now.
create index credit_movements_open_period_idx on billing.credit_movements (upper(period)) where period is not null;
create unique index credit_movements_charge_key on billing.credit_movements (charge_id) where charge_id is not null;
comment on table billing.credit_movements is
'uniCredit movements: top-ups, reservations, releases, spends, returns and refunds of a credit account, who and when. '
'[not audited: append-only, never updated or deleted; each row records its user, role and time]';
comment on column billing.credit_movements.payment_id is
'The bank payment paired ''to UC'' (the payments issue''s table; the reference is added with it).';
comment on column billing.credit_movements.charge_id is 'The charge (billing.charges) a spend paid.';

-- ---------------------------------------------------------------------------------------------
-- UC-2: prepaid services renewed from credit (agents/credit.py runs billing.renew_prepaid)

insert into bus.job_kinds (kind, title, description, financial, submitted_by, scheduler) values (
    'billing.renew_prepaid',
    'Renew prepaid services from uniCredit',
    'Pay the period that starts of every service on a prepaid-credit plan from its customer''s credit; '
    'block (system, credit) the services whose customer has too little, unblock those paid.',
    true,
    '{admin,billing}',
    true
);

insert into bus.job_kind_params (kind_id, name, type, minimum, maximum, not_after_today, description)
select
    k.id,
    p.name,
    p.type,
    p.minimum,
    p.maximum,
    p.not_after_today,
    p.description
from (
    values
    (
        'today', 'date', null::numeric, null::numeric, true,
        'Renew the periods that have begun by this date (to catch up on a missed day); the business date by default.'
    ),
    ('operator', 'integer', 1, null, false, 'Only this operator''s services (its id); every operator by default.')
) as p (name, type, minimum, maximum, not_after_today, description)
cross join bus.job_kinds as k
where k.kind = 'billing.renew_prepaid';
