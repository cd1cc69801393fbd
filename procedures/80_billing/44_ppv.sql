-- TV pay-per-view purchases (BIL-2 usage): a film or a match bought on a TV service, billed as a
-- usage item in the period of its business date. Billing records them (and a TV platform's feed,
-- once there is one, through the same function); support reads them.

create or replace function billing.add_ppv_purchase(
    p_service_id bigint, p_title text, p_purchased_at timestamptz, p_price numeric, p_external_ref text default null
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: purchases are written only here, for a service that ran at the time of the purchase.
-- The same platform order (external_ref) reported again returns the purchase recorded first.
declare
  v_service crm.services;
  v_id bigint;
begin
  perform auth.require_role('billing');
  select s.* into v_service from crm.services s where s.id = p_service_id;
  if not found then
    raise exception 'there is no service %', p_service_id using errcode = 'MG858', column = 'service_id';
  end if;
  if nullif(btrim(p_title), '') is null or length(btrim(p_title)) > 200 then
    raise exception 'give the title (at most 200 characters)' using errcode = 'MG858', column = 'title';
  end if;
  if p_purchased_at is null
     or not v_service.valid @> crm.business_date(v_service.operator_id, p_purchased_at) then
    raise exception 'service % did not run at %', p_service_id, coalesce(p_purchased_at::text, '(no time given)')
      using errcode = 'MG858', column = 'purchased_at';
  end if;
  if p_price is null or not (p_price >= 0 and p_price < 1000000) then
    raise exception 'the price must be between 0 and 999 999.99' using errcode = 'MG858', column = 'price';
  end if;
  insert into billing.ppv_purchases (operator_id, service_id, title, purchased_at, price, external_ref, created_by)
  values (v_service.operator_id, p_service_id, btrim(p_title), p_purchased_at, round(p_price, 2),
          nullif(btrim(p_external_ref), ''), auth.user_id())
  on conflict (operator_id, external_ref) do nothing
  returning id into v_id;
  if v_id is null then
    select p.id into v_id from billing.ppv_purchases p
     where p.operator_id = v_service.operator_id and p.external_ref = btrim(p_external_ref);
  end if;
  return v_id;
end;
$$;
comment on function billing.add_ppv_purchase(bigint, text, timestamptz, numeric, text) is
'Record a pay-per-view purchase of a TV service (title, time, price in the product''s price mode).';
revoke all on function billing.add_ppv_purchase(bigint, text, timestamptz, numeric, text) from public;
grant execute on function billing.add_ppv_purchase(bigint, text, timestamptz, numeric, text) to mango_billing;

alter table billing.ppv_purchases enable row level security;
drop policy if exists staff_select_all on billing.ppv_purchases;
create policy staff_select_all on billing.ppv_purchases for select to mango_staff using (true);
revoke all on table billing.ppv_purchases from public;
grant select on table billing.ppv_purchases to mango_billing, mango_support;
select audit.enable('billing.ppv_purchases');
