-- Customer traffic per day (crm.customer_traffic): written by the daily flow summary
-- (flow.summarize_customers, procedures/70_flow), read by the staff who answer for it (support,
-- billing, administrators) and by officers. A customer reading only their own rows (self-care)
-- needs auth.customer_id(), which the self-care issue brings.

alter table crm.customer_traffic enable row level security;
drop policy if exists staff_select_all on crm.customer_traffic;
create policy staff_select_all on crm.customer_traffic for select to mango_staff, mango_agent_scheduler
using (true);
revoke all on crm.customer_traffic from public;
grant select on crm.customer_traffic to mango_support, mango_billing, mango_admin, mango_flow, mango_agent_scheduler;
