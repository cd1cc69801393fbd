-- Schema usage for the application's roles. Object-level grants live beside each object.
--
-- Grants name the group roles (db/bootstrap.py): mango_office (what every office role reads),
-- mango_self (what every signed-in staff user may do about themselves), one group per staff role,
-- and one login role per agent. A user's mango_as_* role holds its groups' grants directly
-- (auth.sync_staff_role, procedures/10_auth/05_staff_roles.sql); mango_staff, the marker every
-- mango_as_* role is a member of, holds no privilege at all: staff policies name it.

grant usage on schema auth to mango_self, mango_agent, mango_customer, mango_partner, mango_web, mango_role_maker;
grant usage on schema bus, audit, crm, catalog, billing, payment, doc, net, mon, prov, desk, process to mango_office;
grant usage on schema bus, crm, catalog, billing, payment, doc, net, mon, prov to mango_agent;
grant usage on schema crm, catalog to mango_customer, mango_partner;
grant usage on schema flow to mango_flow, mango_agent_flowcollector, mango_agent_scheduler;
-- Administrators see the retention setting, its log and the collector's status (procedures/70_flow/
-- 30_administrators.sql grants what); flow records, NAT events and lawful cases stay the officers'.
grant usage on schema flow to mango_admin;
-- Officers name subscribers and read their traffic summaries, and read the history of their cases.
grant usage on schema crm, net, catalog, audit to mango_flow;
grant usage on schema report to mango_report, mango_office;
-- The web client names a page's function (crm.customer_card) in the statement that switches to the
-- user's role; the name is resolved before the switch. mango_web reads no table of crm.
grant usage on schema crm to mango_web;

-- Nothing we create is executable by public unless granted on purpose.
alter default privileges for role mango_owner revoke execute on functions from public;
