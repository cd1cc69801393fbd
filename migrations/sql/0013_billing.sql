-- 0013 billing: billing plans, charges, billing runs and documents as data. Frozen once merged.
-- Functions, views, triggers, policies and grants live in procedures/80_billing/.
--
-- Money is numeric(14,2), computed once in SQL and stored: the amount in the product's price mode
-- is computed, the other derived from it once, and nothing that renders a document computes money
-- again. Every number column refuses NaN and ±Infinity (`…_finite_check`, as 0012 does), the texts
-- people type have length limits (`…_length_check`). Corrections are new rows.

-- ---------------------------------------------------------------------------------------------
-- billing plans (BIL-1): named rule sets chosen per service

create table billing.plans (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    code text not null constraint plans_code_format_check check (code ~ '^[a-z0-9][a-z0-9_-]{0,49}$'),
    name text not null constraint plans_name_length_check check (length(btrim(name)) between 1 and 200),
    description text constraint plans_description_length_check check (length(description) <= 2000),
    -- The document that bills the fixed part (fees, one-time and manual charges) and the usage
    -- part (calls, data, pay-per-view): an invoice (daňový doklad), a payment request (výzva k
    -- platbě, not a tax document: the tax document follows the payment) or none (the charge is
    -- the předpis and stays on the customer's account without a document).
    fixed_document text not null default 'invoice'
    constraint plans_fixed_document_check check (fixed_document in ('invoice', 'payment_request', 'none')),
    usage_document text not null default 'invoice'
    constraint plans_usage_document_check check (usage_document in ('invoice', 'payment_request', 'none')),
    -- Which billing period the run of a month bills: prepaid the period that starts in the next
    -- month (in advance), actual the one that starts in the run's month, postpaid the one that
    -- started in the month before (in arrears).
    mode text not null default 'actual' constraint plans_mode_check check (mode in ('prepaid', 'actual', 'postpaid')),
    -- Usage of the run's month (actual) or of the month before (postpaid).
    usage_mode text not null default 'postpaid'
    constraint plans_usage_mode_check check (usage_mode in ('actual', 'postpaid')),
    -- The tax point (DUZP): the last day of the billing period, the day the document is issued, or
    -- the day the payment arrives (payment requests: the tax document is issued then).
    tax_point_rule text not null default 'period_end'
    constraint plans_tax_point_rule_check check (tax_point_rule in ('period_end', 'issue_day', 'payment_day')),
    due_days integer not null default 14 constraint plans_due_days_check check (due_days between 0 and 365),
    -- A tax document is issued when an advance payment arrives (billing.advance_invoice).
    advance_invoices boolean not null default false,
    -- Collected through SIPO (Česká pošta; the payments issue reads this).
    sipo boolean not null default false,
    -- A tariff change inside a billing period: the old tariff's whole fee and the new one pro rata
    -- (full_old_prorata_new, as Mango bills GSM tariffs), or each tariff for its own days.
    tariff_change text not null default 'prorata_both'
    constraint plans_tariff_change_check check (tariff_change in ('full_old_prorata_new', 'prorata_both')),
    -- Paid from the customer's uniCredit prepaid credit (UC-2): the credit renewal charges these
    -- services when their period starts, the billing run leaves them out.
    prepaid_credit boolean not null default false,
    -- Domestic reverse charge (daň odvede zákazník, § 92a): the documents carry no VAT.
    reverse_charge boolean not null default false,
    -- The operator's default plan: what a service gets when none is chosen (one per operator).
    is_default boolean not null default false,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (operator_id, code),
    unique (operator_id, id),
    -- A payment request is taxed when it is paid; an invoice at the period end or on its issue day.
    constraint plans_tax_point_rule_document_check check (
        (tax_point_rule = 'payment_day') = ('payment_request' in (fixed_document, usage_document))
        and not (tax_point_rule = 'payment_day' and 'invoice' in (fixed_document, usage_document))
    ),
    constraint plans_default_active_check check (active or not is_default)
);
create unique index plans_one_default on billing.plans (operator_id) where is_default;
comment on table billing.plans is
'Billing plans (BIL-1): documents, mode, tax point, due days, advances, SIPO and tariff-change rule per operator.';

-- Every operator gets a default plan (later ones by a trigger on crm.operators), every service a
-- plan: crm.services.billing_plan_id becomes a real reference (the operator's default unless one is
-- chosen; a trigger fills it in for new services).
insert into billing.plans (operator_id, code, name, is_default)
select
    o.id as operator_id,
    'default' as code,
    'Invoice monthly' as name,
    true as is_default
from crm.operators as o;

update crm.services as s
set billing_plan_id = p.id
from billing.plans as p
where
    p.operator_id = s.operator_id
    and p.is_default
    and (
        s.billing_plan_id is null
        or not exists (
            select from billing.plans as q
            where q.id = s.billing_plan_id and q.operator_id = s.operator_id
        )
    );

alter table crm.services alter column billing_plan_id set not null;
alter table crm.services
add constraint services_billing_plan_fk foreign key (operator_id, billing_plan_id)
references billing.plans (operator_id, id);
create index services_billing_plan_idx on crm.services (billing_plan_id);

-- ---------------------------------------------------------------------------------------------
-- billing runs (BIL-2)

create table billing.runs (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    -- The month the run is for (its first day); the plan's mode says which billing period of each
    -- service that is.
    period date not null constraint runs_period_check check (extract(day from period) = 1),
    -- running: inside the run's transaction only; preview: what a run would create (it created
    -- nothing); done: charges and draft documents made; issued: its documents have numbers;
    -- cancelled: its charges and drafts were deleted.
    state text not null default 'running'
    constraint runs_state_check check (state in ('running', 'preview', 'done', 'issued', 'cancelled')),
    job_id bigint references bus.jobs (id) on delete set null,
    -- What the run made (or, for a preview, would make): counts and amounts per kind.
    counts jsonb not null default '{}',
    totals jsonb not null default '{}',
    created_by bigint references auth.users (id),
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    issued_by bigint references auth.users (id),
    issued_at timestamptz,
    cancelled_by bigint references auth.users (id),
    cancelled_at timestamptz,
    cancel_reason text constraint runs_cancel_reason_length_check check (length(cancel_reason) <= 500),
    constraint runs_cancelled_check check ((state = 'cancelled') = (cancelled_at is not null)),
    constraint runs_issued_check check ((state = 'issued') = (issued_at is not null))
);
create index runs_operator_idx on billing.runs (operator_id, period, id);
comment on table billing.runs is
'Billing runs per operator and month: state, the job, who ran, issued and cancelled it, counts and totals.';

-- ---------------------------------------------------------------------------------------------
-- charges (předpisy): what a customer owes for a service, a period and a kind

create table billing.charges (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    -- The customer whose service it is, and the account that pays (a parent account pays for its
    -- branches, crm.customers.parent_id).
    customer_id bigint not null references crm.customers (id),
    payer_id bigint not null references crm.customers (id),
    service_id bigint references crm.services (id),
    plan_id bigint references billing.plans (id),
    kind text not null
    constraint charges_kind_check check (
        kind in ('recurring', 'one_time', 'usage', 'discount', 'reconnection', 'manual')
    ),
    -- The billing period the charge belongs to, the days it covers inside it (pro rata), and how
    -- many days that is of how many (null when not pro rata: one-time, manual and usage charges).
    period daterange not null constraint charges_period_check check (not isempty(period) and not upper_inf(period)),
    covered daterange not null constraint charges_covered_check check (not isempty(covered) and covered <@ period),
    days integer constraint charges_days_check check (days > 0),
    period_days integer constraint charges_period_days_check check (period_days > 0 and period_days >= days),
    tariff_id bigint references catalog.tariffs (id),
    description text not null
    constraint charges_description_length_check check (length(btrim(description)) between 1 and 500),
    quantity numeric(14, 4) not null default 1
    constraint charges_quantity_finite_check check (quantity > '-Infinity' and quantity < 'Infinity'),
    unit text constraint charges_unit_length_check check (length(unit) <= 20),
    -- Unit price without VAT before the discount (§ 29 (1) i), and the discount in percent
    -- (bundle and group discount together, as catalog.price_for applies them).
    unit_price numeric(14, 4) not null default 0
    constraint charges_unit_price_finite_check check (unit_price > '-Infinity' and unit_price < 'Infinity'),
    discount_percent numeric(7, 4) not null default 0
    constraint charges_discount_percent_check check (discount_percent between 0 and 100),
    -- The amount in the product's price mode is computed, the other derived from it once.
    price_mode text not null constraint charges_price_mode_check check (price_mode in ('with_vat', 'without_vat')),
    amount_without_vat numeric(14, 2) not null
    constraint charges_amount_without_vat_finite_check check (
        amount_without_vat > '-Infinity' and amount_without_vat < 'Infinity'
    ),
    amount_with_vat numeric(14, 2) not null
    constraint charges_amount_with_vat_finite_check check (
        amount_with_vat > '-Infinity' and amount_with_vat < 'Infinity'
    ),
    vat_amount numeric(14, 2) generated always as (amount_with_vat - amount_without_vat) stored
    constraint charges_vat_amount_finite_check check (vat_amount > '-Infinity' and vat_amount < 'Infinity'),
    -- VAT class and the rate on the tax point; null rate: outside VAT (an operator that is not a
    -- VAT payer). Reverse charge keeps the rate and carries no VAT.
    vat_class text not null
    constraint charges_vat_class_check check (vat_class in ('standard', 'reduced', 'second_reduced', 'zero')),
    vat_rate numeric(5, 2) constraint charges_vat_rate_check check (vat_rate >= 0 and vat_rate < 100),
    reverse_charge boolean not null default false,
    -- The tax point when the plan fixes it at the period end; null when it is the issue or the
    -- payment day (the document line that bills the charge has it then).
    tax_point date,
    -- The document that bills it, as the plan said when the charge was made.
    document_kind text not null
    constraint charges_document_kind_check check (document_kind in ('invoice', 'payment_request', 'none')),
    due_days integer not null default 14 constraint charges_due_days_check check (due_days between 0 and 365),
    -- Bill-separately services get a document of their own.
    bill_separately boolean not null default false,
    -- The run that made (or, for a manual charge, billed) it; its key makes a second run create
    -- nothing (unique per service, kind and period; null for charges staff add).
    run_id bigint references billing.runs (id),
    key text constraint charges_key_length_check check (length(key) <= 200),
    -- A correction (credit note) refers to the charge it corrects.
    corrects_id bigint references billing.charges (id),
    note text constraint charges_note_length_check check (length(note) <= 2000),
    created_by bigint references auth.users (id),
    created_at timestamptz not null default now(),
    constraint charges_reverse_charge_check check (not reverse_charge or amount_with_vat = amount_without_vat),
    constraint charges_outside_vat_check check (vat_rate is not null or amount_with_vat = amount_without_vat),
    constraint charges_service_check check (service_id is not null or kind in ('manual', 'discount', 'reconnection'))
);
create unique index charges_run_key_uq on billing.charges (service_id, kind, period, key) where key is not null;
create unique index charges_one_setup_fee_uq on billing.charges (service_id) where kind = 'one_time' and key = 'setup';
create index charges_run_idx on billing.charges (run_id) where run_id is not null;
create index charges_customer_idx on billing.charges (customer_id, id);
create index charges_payer_idx on billing.charges (payer_id, id);
create index charges_pending_idx on billing.charges (operator_id, lower(period))
where run_id is null and corrects_id is null;
create index charges_corrects_idx on billing.charges (corrects_id) where corrects_id is not null;
comment on table billing.charges is
'Charges (předpisy) per service, period and kind: amounts, VAT, tax point, the run. [not audited: bulk, runs are]';

-- ---------------------------------------------------------------------------------------------
-- documents (BIL-4): invoices, credit notes, payment requests, advance invoices, as data

create table billing.documents (
    id bigint generated always as identity primary key,
    operator_id bigint not null references crm.operators (id),
    -- The paying customer (a parent account for its branches).
    customer_id bigint not null references crm.customers (id),
    run_id bigint references billing.runs (id),
    -- invoice: daňový doklad (also the tax document issued when a payment request is paid,
    -- request_id); credit_note: opravný daňový doklad (original_id, reason); payment_request: výzva
    -- k platbě (not a tax document); advance_invoice: daňový doklad k přijaté platbě (an advance).
    kind text not null
    constraint documents_kind_check check (kind in ('invoice', 'credit_note', 'payment_request', 'advance_invoice')),
    state text not null default 'draft' constraint documents_state_check check (state in ('draft', 'issued')),
    -- A tax document (daňový doklad): not a payment request, nor any document of an operator that
    -- is not a VAT payer.
    tax_document boolean not null,
    reverse_charge boolean not null default false,
    -- The service billed separately (bill_separately), if the document is its own.
    service_id bigint references crm.services (id),
    -- § 29 (1) e: the number, from the operator's series of the document's kind and year (set when
    -- the document is issued).
    number text constraint documents_number_length_check check (length(number) <= 50),
    issue_date date,
    -- § 29 (1) h: the tax point (DUZP); for a summary document the latest of its lines' tax points.
    tax_point date,
    due_days integer not null default 14 constraint documents_due_days_check check (due_days between 0 and 365),
    due_date date,
    -- The billing period the document covers (the span of its lines).
    period daterange,
    vs text constraint documents_vs_check check (vs ~ '^\d{1,10}$'),
    currency text not null constraint documents_currency_check check (currency ~ '^[A-Z]{3}$'),
    -- credit_note: the document it corrects and why (§ 45).
    original_id bigint references billing.documents (id),
    reason text constraint documents_reason_length_check check (length(btrim(reason)) between 1 and 500),
    -- invoice issued when a payment request was paid: the request, and the day of the payment.
    request_id bigint references billing.documents (id),
    paid_on date,
    -- § 29 (1) a-d: supplier and customer as they were on the day the document was issued.
    supplier_name text not null,
    supplier_street text,
    supplier_city text,
    supplier_zip text,
    supplier_country text not null,
    supplier_ico text,
    supplier_dic text,
    supplier_vat_payer boolean not null,
    supplier_registration text,
    customer_name text not null,
    customer_street text,
    customer_city text,
    customer_zip text,
    customer_country text not null,
    customer_ico text,
    customer_dic text,
    customer_no text,
    -- Totals over the VAT recap (billing.document_vat) and the lines outside VAT, the rounding
    -- line included; rounding is that line's amount with VAT; amount_due what the document asks
    -- the customer to pay (negative for a credit note; zero for a document of a payment received).
    total_without_vat numeric(14, 2) not null default 0
    constraint documents_total_without_vat_finite_check check (
        total_without_vat > '-Infinity' and total_without_vat < 'Infinity'
    ),
    total_vat numeric(14, 2) not null default 0
    constraint documents_total_vat_finite_check check (total_vat > '-Infinity' and total_vat < 'Infinity'),
    total_with_vat numeric(14, 2) not null default 0
    constraint documents_total_with_vat_finite_check check (
        total_with_vat > '-Infinity' and total_with_vat < 'Infinity'
    ),
    rounding numeric(14, 2) not null default 0
    constraint documents_rounding_finite_check check (rounding > '-Infinity' and rounding < 'Infinity'),
    amount_due numeric(14, 2) not null default 0
    constraint documents_amount_due_finite_check check (amount_due > '-Infinity' and amount_due < 'Infinity'),
    note text constraint documents_note_length_check check (length(note) <= 2000),
    created_by bigint references auth.users (id),
    created_at timestamptz not null default now(),
    issued_by bigint references auth.users (id),
    issued_at timestamptz,
    constraint documents_issued_check check (
        (state = 'issued') = (number is not null and issue_date is not null and issued_at is not null)
    ),
    constraint documents_credit_note_check check (
        (kind = 'credit_note') = (original_id is not null and reason is not null)
    ),
    constraint documents_request_check check (request_id is null or (kind = 'invoice' and paid_on is not null)),
    constraint documents_total_check check (total_with_vat = total_without_vat + total_vat)
);
create unique index documents_number_uq on billing.documents (operator_id, kind, number) where number is not null;
create index documents_run_idx on billing.documents (run_id) where run_id is not null;
create index documents_customer_idx on billing.documents (customer_id, id);
create index documents_original_idx on billing.documents (original_id) where original_id is not null;
create index documents_request_idx on billing.documents (request_id) where request_id is not null;
create index documents_draft_idx on billing.documents (operator_id, id) where state = 'draft';
comment on table billing.documents is
'Invoices, credit notes, payment requests, advance invoices with every § 29 item. [not audited: bulk, immutable]';

create table billing.document_lines (
    id bigint generated always as identity primary key,
    document_id bigint not null references billing.documents (id) on delete cascade,
    position integer not null constraint document_lines_position_check check (position > 0),
    -- charge: bills a charge (or corrects one, on a credit note); rounding: the rounding of the
    -- total to whole crowns, taxed as part of the price (§ 37); payment: the payment an advance
    -- invoice documents.
    line_kind text not null default 'charge'
    constraint document_lines_line_kind_check check (line_kind in ('charge', 'rounding', 'payment')),
    charge_id bigint references billing.charges (id),
    -- A credit note's line: the line of the original it corrects.
    credited_line_id bigint references billing.document_lines (id),
    description text not null
    constraint document_lines_description_length_check check (length(btrim(description)) between 1 and 500),
    covered daterange,
    quantity numeric(14, 4) not null default 1
    constraint document_lines_quantity_finite_check check (quantity > '-Infinity' and quantity < 'Infinity'),
    unit text constraint document_lines_unit_length_check check (length(unit) <= 20),
    unit_price numeric(14, 4) not null default 0
    constraint document_lines_unit_price_finite_check check (unit_price > '-Infinity' and unit_price < 'Infinity'),
    discount_percent numeric(7, 4) not null default 0
    constraint document_lines_discount_percent_check check (discount_percent between 0 and 100),
    price_mode text not null
    constraint document_lines_price_mode_check check (price_mode in ('with_vat', 'without_vat')),
    vat_rate numeric(5, 2) constraint document_lines_vat_rate_check check (vat_rate >= 0 and vat_rate < 100),
    tax_point date,
    amount_without_vat numeric(14, 2) not null
    constraint document_lines_amount_without_vat_finite_check check (
        amount_without_vat > '-Infinity' and amount_without_vat < 'Infinity'
    ),
    amount_with_vat numeric(14, 2) not null
    constraint document_lines_amount_with_vat_finite_check check (
        amount_with_vat > '-Infinity' and amount_with_vat < 'Infinity'
    ),
    vat_amount numeric(14, 2) generated always as (amount_with_vat - amount_without_vat) stored
    constraint document_lines_vat_amount_finite_check check (vat_amount > '-Infinity' and vat_amount < 'Infinity'),
    unique (document_id, position),
    constraint document_lines_charge_check check ((line_kind = 'charge') = (charge_id is not null))
);
create index document_lines_charge_idx on billing.document_lines (charge_id);
create index document_lines_credited_idx on billing.document_lines (credited_line_id)
where credited_line_id is not null;
comment on table billing.document_lines is
'Document lines: text, quantity, unit price without VAT, discount, VAT rate, amounts. [not audited: bulk, immutable]';

create table billing.document_vat (
    document_id bigint not null references billing.documents (id) on delete cascade,
    vat_rate numeric(5, 2) not null constraint document_vat_vat_rate_check check (vat_rate >= 0 and vat_rate < 100),
    base numeric(14, 2) not null
    constraint document_vat_base_finite_check check (base > '-Infinity' and base < 'Infinity'),
    vat numeric(14, 2) not null constraint document_vat_vat_finite_check check (vat > '-Infinity' and vat < 'Infinity'),
    total numeric(14, 2) generated always as (base + vat) stored
    constraint document_vat_total_finite_check check (total > '-Infinity' and total < 'Infinity'),
    primary key (document_id, vat_rate)
);
comment on table billing.document_vat is
'The VAT recap of a document: base and VAT per rate (§ 29 (1) j-l). [not audited: bulk, immutable]';

-- ---------------------------------------------------------------------------------------------
-- the billing run as a financial background job (PLT-4)

insert into bus.job_kinds (kind, title, description, financial, submitted_by, scheduler) values
(
    'billing.run', 'Billing run',
    'Charges and draft documents of an operator for a month (preview: what it would create, creating nothing).',
    true, '{admin,billing}', false
);

insert into bus.job_kind_params (kind_id, name, type, required, minimum, maximum, description)
select
    k.id,
    p.name,
    p.type,
    p.required,
    p.minimum,
    p.maximum,
    p.description
from (
    values
    ('operator', 'integer', true, 1::numeric, null::numeric, 'The operator (its id).'),
    ('period', 'text', true, null, null, 'The month billed: YYYY-MM (or a date in it).'),
    ('preview', 'boolean', false, null, null, 'Show what the run would create, creating nothing (false).')
) as p (name, type, required, minimum, maximum, description)
inner join bus.job_kinds as k on k.kind = 'billing.run';
