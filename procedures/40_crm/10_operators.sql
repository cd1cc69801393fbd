-- Operators (PLT-1) and their gap-free number series.

create or replace function crm.tg_operators__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  new.ico := crm.checked_ico(new.ico);
  new.dic := crm.checked_dic(new.dic);
  new.time_zone := crm.checked_time_zone(new.time_zone);
  if new.vat_payer and new.dic is null then
    raise exception 'a VAT payer needs a DIČ' using errcode = 'MG001', column = 'dic';
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function crm.tg_operators__validate() is 'Check and normalise an operator''s IČO, DIČ and time zone.';
revoke all on function crm.tg_operators__validate() from public;

create or replace trigger _500_validate before insert or update on crm.operators
for each row execute function crm.tg_operators__validate();

create or replace function crm.format_number(p_format text, p_value bigint, p_date date)
returns text
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Placeholders: {YYYY} {YY} {MM} the year and month of the date, {N} or {N:width} the counter.
declare
  v text := p_format;
  v_width integer;
begin
  v := replace(v, '{YYYY}', to_char(p_date, 'YYYY'));
  v := replace(v, '{YY}', to_char(p_date, 'YY'));
  v := replace(v, '{MM}', to_char(p_date, 'MM'));
  v_width := coalesce((regexp_match(v, '\{N:(\d+)\}'))[1]::integer, 0);
  if length(p_value::text) > greatest(v_width, 1) and v_width > 0 then
    raise exception 'number series % is exhausted: % does not fit % digits', p_format, p_value, v_width
      using errcode = 'MG003';
  end if;
  return regexp_replace(v, '\{N(:\d+)?\}', lpad(p_value::text, greatest(v_width, length(p_value::text)), '0'));
end;
$$;
comment on function crm.format_number(text, bigint, date) is 'Format a number of a series ({YYYY}, {YY}, {MM}, {N:6}).';
revoke all on function crm.format_number(text, bigint, date) from public;
grant execute on function crm.format_number(text, bigint, date) to mango_office, mango_agent;

create or replace function crm.series_year(p_yearly boolean, p_date date)
returns integer
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- A yearly series counts from its start again each year; another counts once (year 0).
  select case when p_yearly then extract(year from p_date)::integer else 0 end;
$$;
comment on function crm.series_year(boolean, date) is 'The counter year of a number series on a date (0: not yearly).';
revoke all on function crm.series_year(boolean, date) from public;
grant execute on function crm.series_year(boolean, date) to mango_office, mango_agent;

create or replace function crm.next_number(p_operator_id bigint, p_kind text, p_date date default null)
returns text
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: counters are written only here. The counter row is locked by the upsert until the
-- issuing transaction ends, and rolls back with it: numbers are gap-free under concurrency.
declare
  v_series crm.number_series;
  v_year integer;
  v_value bigint;
begin
  p_date := coalesce(p_date, crm.business_date(p_operator_id));  -- the year of the operator's today
  select * into v_series from crm.number_series where operator_id = p_operator_id and kind = p_kind;
  if not found then
    raise exception 'operator % has no number series "%"', p_operator_id, p_kind using errcode = 'MG002';
  end if;
  v_year := crm.series_year(v_series.yearly, p_date);
  insert into crm.number_series_counters as c (series_id, year, last_value)
  values (v_series.id, v_year, v_series.start_value)
  on conflict (series_id, year) do update set last_value = c.last_value + 1
  returning last_value into v_value;
  return crm.format_number(v_series.format, v_value, p_date);
end;
$$;
comment on function crm.next_number(bigint, text, date) is 'Issue the next number of an operator''s series (gap-free).';
revoke all on function crm.next_number(bigint, text, date) from public;
-- Taking a number uses it up: billing and administrators only (the functions that number customers,
-- contracts and documents run as the owner).
grant execute on function crm.next_number(bigint, text, date) to mango_billing, mango_admin;

create or replace function crm.peek_number(p_series_id bigint, p_date date default null)
returns text
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The number a series would issue next on a date (the operator's today by default), by the same
-- year rule as crm.next_number, without taking it; null when the series is exhausted.
declare
  v_series crm.number_series;
  v_value bigint;
begin
  select * into v_series from crm.number_series where id = p_series_id;
  if not found then
    return null;
  end if;
  p_date := coalesce(p_date, crm.business_date(v_series.operator_id));
  select c.last_value + 1 into v_value
    from crm.number_series_counters c
   where c.series_id = p_series_id and c.year = crm.series_year(v_series.yearly, p_date);
  return crm.format_number(v_series.format, coalesce(v_value, v_series.start_value), p_date);
exception when sqlstate 'MG003' then
  return null;
end;
$$;
comment on function crm.peek_number(bigint, date) is
'The next number of a series on a date, without taking it (null when exhausted).';
revoke all on function crm.peek_number(bigint, date) from public;
grant execute on function crm.peek_number(bigint, date) to mango_office;

alter table crm.operators enable row level security;
alter table crm.number_series enable row level security;
alter table crm.number_series_counters enable row level security;
drop policy if exists staff_select_all on crm.operators;
create policy staff_select_all on crm.operators for select to mango_staff using (true);
drop policy if exists admin_insert_all on crm.operators;
create policy admin_insert_all on crm.operators for insert to mango_staff with check ((select auth.may('admin')));
drop policy if exists admin_update_all on crm.operators;
create policy admin_update_all on crm.operators for update to mango_staff using ((select auth.may('admin')));
drop policy if exists agent_select_all on crm.operators;
create policy agent_select_all on crm.operators for select
to mango_agent_scheduler, mango_agent_documents, mango_agent_provisioner using (true);
grant select on crm.operators to mango_office, mango_agent_scheduler, mango_agent_documents, mango_agent_provisioner;
grant insert, update on crm.operators to mango_admin;

drop policy if exists staff_select_all on crm.number_series;
create policy staff_select_all on crm.number_series for select to mango_staff using (true);
drop policy if exists admin_write_all on crm.number_series;
create policy admin_write_all on crm.number_series for all to mango_staff
using ((select auth.may('admin'))) with check ((select auth.may('admin')));
grant select on crm.number_series to mango_office;
grant insert, update, delete on crm.number_series to mango_admin;
drop policy if exists staff_select_all on crm.number_series_counters;
create policy staff_select_all on crm.number_series_counters for select to mango_staff using (true);
grant select on crm.number_series_counters to mango_office;

-- The counters change with every number issued; the numbers are audited where they are used.
comment on table crm.number_series_counters is
'Last number issued per series and year; incremented in the issuing transaction, so gap-free. [not audited: counter]';

select audit.enable('crm.operators');
select audit.enable('crm.number_series');
