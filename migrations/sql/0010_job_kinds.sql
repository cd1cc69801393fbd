-- 0010 job kinds: job kinds as data, and the operator's time zone (one business day). Frozen once merged.

-- ---------------------------------------------------------------------------------------------
-- one business day: the operator's time zone decides what "today" is

alter table crm.operators add column time_zone text not null default 'Europe/Prague'
check (length(time_zone) between 1 and 60);
comment on column crm.operators.time_zone is
'The operator''s time zone (IANA name): its business date (crm.business_date) is the date there.';

-- A customer's first day and an order's date are the business date of their operator: a trigger
-- and catalog.place_order set them (procedures/), a column default cannot name the operator.
alter table crm.customers alter column created_on drop default;
alter table catalog.orders alter column effective_on drop default;
