-- Schema usage for the application's roles. Object-level grants live beside each object.

grant usage on schema auth, bus, audit, crm, catalog, billing, payment, doc, net, mon, prov, desk, process
to mango_staff, mango_agent, mango_customer, mango_partner;
grant usage on schema flow to mango_flow, mango_agent_flowcollector, mango_agent_scheduler;
-- Administrators see the retention setting, its log and the collector's status (procedures/70_flow/
-- 30_retention_page.sql grants what); flow records, NAT events and lawful cases stay the officers'.
grant usage on schema flow to mango_admin;
-- Officers name subscribers and read their traffic summaries (table grants say what).
grant usage on schema crm to mango_flow;
grant usage on schema report to mango_report, mango_staff;
grant usage on schema auth to mango_web, mango_flow, mango_report;
-- The web client names a page's function (crm.customer_card) in the statement that switches to the
-- user's role; the name is resolved before the switch. mango_web reads no table of crm.
grant usage on schema crm to mango_web;

-- Nothing we create is executable by public unless granted on purpose.
alter default privileges for role mango_owner revoke execute on functions from public;
