-- Customers (CRM-1, CRM-2, CRM-5): validation, numbers, search, contacts, notes, groups, places.

create or replace function crm.fold(p_text text)
returns text
language sql immutable strict parallel safe security invoker set search_path = pg_catalog, pg_temp
as $$
  -- Lower case without Czech (and common Slovak/German) diacritics, for accent-blind search.
  select translate(lower(p_text), 'áäčďéěëíĺľňóôöŕřšťúůüýžß', 'aacdeeeillnooorrstuuuyzs');
$$;
comment on function crm.fold(text) is 'Lower case without diacritics, for search.';
revoke all on function crm.fold(text) from public;
grant execute on function crm.fold(text) to mango_office, mango_agent, mango_customer;

create or replace function crm.customer_name(p_customer crm.customers)
returns text
language sql immutable security invoker
as $$
  -- [inlined]: no `set search_path`, so that the planner inlines it (see catalog.tariff_price).
  select coalesce(p_customer.company_name, concat_ws(' ', p_customer.first_name, p_customer.last_name));
$$;
comment on function crm.customer_name(crm.customers) is 'How a customer is named on screens and documents. [inlined]';
revoke all on function crm.customer_name(crm.customers) from public;
grant execute on function crm.customer_name(crm.customers) to mango_office, mango_agent, mango_customer;

create or replace function crm.tg_customers__validate()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: takes the number from the operator's series (crm.next_number), which only billing and
-- administrators may do directly.
begin
  new.first_name := nullif(btrim(new.first_name), '');
  new.last_name := nullif(btrim(new.last_name), '');
  new.company_name := nullif(btrim(new.company_name), '');
  if new.kind = 'company' and new.company_name is null then
    raise exception 'a company needs its name' using errcode = 'MG001', column = 'company_name';
  end if;
  if new.kind = 'person' and new.last_name is null then
    raise exception 'a person needs a surname' using errcode = 'MG001', column = 'last_name';
  end if;
  new.ico := crm.checked_ico(new.ico);
  new.dic := crm.checked_dic(new.dic);
  new.zip := crm.checked_zip(new.zip, new.country);
  if new.parent_id is not null then
    -- The paying parent may not be a branch of this customer (no cycles).
    if exists (
      with recursive up (id, parent_id) as (
        select c.id, c.parent_id from crm.customers c where c.id = new.parent_id
        union all
        select c.id, c.parent_id from crm.customers c join up on c.id = up.parent_id
      ) cycle id set is_cycle using path
      select from up where up.id = new.id
    ) then
      raise exception 'customer % cannot pay for its own parent', new.id using errcode = 'MG001', column = 'parent_id';
    end if;
  end if;
  if tg_op = 'INSERT' then
    new.created_on := coalesce(new.created_on, crm.business_date(new.operator_id));
    new.customer_no := coalesce(nullif(new.customer_no, ''), crm.next_number(new.operator_id, 'customer'));
    new.vs := coalesce(nullif(new.vs, ''), crm.next_number(new.operator_id, 'vs'));
  else
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function crm.tg_customers__validate() is 'Check and normalise a customer; give it a number and a VS.';
revoke all on function crm.tg_customers__validate() from public;

create or replace trigger _500_validate before insert or update on crm.customers
for each row execute function crm.tg_customers__validate();

create or replace function crm.refresh_customer_search(p_customer_ids bigint[])
returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: crm.customer_search is derived data no role writes directly.
  insert into crm.customer_search (customer_id, sort_name, search_text, ended)
  select c.id,
         crm.fold(coalesce(c.company_name, concat_ws(' ', c.last_name, c.first_name))),
         crm.fold(concat_ws(' ', c.customer_no, c.vs, c.company_name, c.first_name, c.last_name, c.ico, c.dic,
                            c.street, c.house_no, c.city, c.zip,
                            (select string_agg(k.value || case when k.kind = 'phone'
                                                               then ' ' || regexp_replace(k.value, '^\+420', '') else '' end, ' ')
                               from crm.contacts k where k.customer_id = c.id),
                            (select string_agg(concat_ws(' ', p.street, p.house_no, p.flat, p.city), ' ')
                               from crm.delivery_places p where p.customer_id = c.id))),
         c.state = 'ended'
    from crm.customers c
   where c.id = any(p_customer_ids)
  on conflict (customer_id) do update
     set sort_name = excluded.sort_name, search_text = excluded.search_text, ended = excluded.ended;
$$;
comment on function crm.refresh_customer_search(bigint[]) is 'Rebuild the search text of some customers.';
revoke all on function crm.refresh_customer_search(bigint[]) from public;
-- The statement triggers on customers, contacts and places run as the writer: they need to call it.
grant execute on function crm.refresh_customer_search(bigint[])
to mango_support, mango_sales, mango_billing;

create or replace function crm.tg__refresh_customer_search_new()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Statement trigger (insert or update, transition table new_rows): one refresh per statement.
begin
  perform crm.refresh_customer_search(array(
    select distinct coalesce((to_jsonb(n) ->> 'customer_id')::bigint, (to_jsonb(n) ->> 'id')::bigint) from new_rows n
  ));
  return null;
end;
$$;
comment on function crm.tg__refresh_customer_search_new() is
'Keep crm.customer_search in step after inserts and updates.';
revoke all on function crm.tg__refresh_customer_search_new() from public;

create or replace function crm.tg__refresh_customer_search_old()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Statement trigger (delete, transition table old_rows) on contacts and delivery places.
begin
  perform crm.refresh_customer_search(array(select distinct o.customer_id from old_rows o));
  return null;
end;
$$;
comment on function crm.tg__refresh_customer_search_old() is 'Keep crm.customer_search in step after deletes.';
revoke all on function crm.tg__refresh_customer_search_old() from public;

create or replace function crm.tg__refresh_customer_search_moved()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Statement trigger (update with both transition tables) on contacts and delivery places: a row
-- may move to another customer, so both customers are refreshed.
begin
  perform crm.refresh_customer_search(array(
    select n.customer_id from new_rows n union select o.customer_id from old_rows o
  ));
  return null;
end;
$$;
comment on function crm.tg__refresh_customer_search_moved() is
'Keep crm.customer_search in step after updates of child rows.';
revoke all on function crm.tg__refresh_customer_search_moved() from public;

drop trigger if exists _700_search_insert on crm.customers;
drop trigger if exists _700_search_update on crm.customers;
drop trigger if exists _700_search_insert on crm.contacts;
drop trigger if exists _700_search_update on crm.contacts;
drop trigger if exists _700_search_delete on crm.contacts;
drop trigger if exists _700_search_insert on crm.delivery_places;
drop trigger if exists _700_search_update on crm.delivery_places;

create trigger _700_search_insert after insert on crm.customers
referencing new table as new_rows
for each statement execute function crm.tg__refresh_customer_search_new();
create trigger _700_search_update after update on crm.customers
referencing new table as new_rows
for each statement execute function crm.tg__refresh_customer_search_new();
create trigger _700_search_insert after insert on crm.contacts
referencing new table as new_rows
for each statement execute function crm.tg__refresh_customer_search_new();
create trigger _700_search_update after update on crm.contacts
referencing new table as new_rows old table as old_rows
for each statement execute function crm.tg__refresh_customer_search_moved();
create trigger _700_search_delete after delete on crm.contacts
referencing old table as old_rows
for each statement execute function crm.tg__refresh_customer_search_old();
create trigger _700_search_insert after insert on crm.delivery_places
referencing new table as new_rows
for each statement execute function crm.tg__refresh_customer_search_new();
create trigger _700_search_update after update on crm.delivery_places
referencing new table as new_rows old table as old_rows
for each statement execute function crm.tg__refresh_customer_search_moved();

create or replace function crm.search_customers(
    p_query text, p_after_name text default null, p_after_id bigint default null, p_limit integer default 50,
    p_include_ended boolean default false
)
returns table (
    id bigint, customer_no text, vs text, name text, kind text, city text, street text, state text, sort_name text
)
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- Every word of the query must occur (accent-blind) in the customer's search text; keyset
-- pagination by (sort_name, id). No single plan is fast for every word at a million customers,
-- so the page's ids are found by the first of these that can (EXECUTE plans each for the words):
-- 1. Walk the sort index from the page start, testing at most c_walk rows. A word spread over
--    the sort order (a street, a city, a first name, a common fragment) fills a page within a
--    few thousand rows, however many customers it matches.
-- 2. If the walk found some matches but too few, the word is common but rarer: walk up to
--    c_walk_far rows, when the rate seen promises a full page within them.
-- 3. Otherwise every match through the trigram index, the first page kept by a top-N sort. The
--    sort key is an expression on purpose: the planner cannot then walk the sort index, which
--    for a surname (its matches lie together, far into the sort order) reads half the table.
--    Rare words (a phone, a VS, an e-mail, a surname) match few rows: fast.
-- Each word is its own LIKE condition, so the trigram index serves every word (a correlated
-- sub-select or LIKE ALL (array) is not indexable). Then the customers of the page are read.
-- First of all, a query that is an IP address, a MAC address or a device's serial number finds
-- the customers who hold it now (net.customers_holding), if anyone does.
declare
  c_walk constant integer := 2000;
  c_walk_far constant integer := 15000;
  -- A phone's +420 is dropped: the search text holds every phone also without it, and trigrams of
  -- "+420" occur in nearly every customer (the index would read them all).
  v_words text [] := array(
    select '%' || replace(replace(replace(w, '\', '\\'), '%', '\%'), '_', '\_') || '%'
      from unnest(regexp_split_to_array(crm.fold(btrim(coalesce(p_query, ''))), '\s+')) as q (word)
     cross join lateral (select case when q.word ~ '^\+420\d' then substr(q.word, 5) else q.word end) as x (w)
     where w not in ('', '+420')
  );
  v_where text := '($2::text is null or (s.sort_name, s.customer_id) > ($2, $3)) and ($5 or not s.ended)';
  c_walk_sql constant text :=
    'select array(select s.customer_id
                    from (select s.customer_id, s.sort_name, s.search_text, s.ended
                            from crm.customer_search s
                           where ($2::text is null or (s.sort_name, s.customer_id) > ($2, $3))
                           order by s.sort_name, s.customer_id
                           limit %s) as s
                   where %s
                   order by s.sort_name, s.customer_id
                   limit $4)';
  v_ids bigint [];
begin
  v_ids := array(select h.customer_id from net.customers_holding(p_query) h);
  for i in 1 .. cardinality(v_words) loop
    v_where := v_where || format(' and s.search_text like $1[%s]', i);
  end loop;
  if cardinality(v_ids) > 0 then
    -- The holders of a network identifier (few), in the list's order and pages.
    v_ids := array(
      select s.customer_id from crm.customer_search s
       where s.customer_id = any(v_ids)
         and (p_after_name is null or (s.sort_name, s.customer_id) > (p_after_name, p_after_id))
         and (p_include_ended or not s.ended)
       order by s.sort_name, s.customer_id
       limit p_limit);
  elsif cardinality(v_words) = 0 then
    -- No words: everyone, in order, straight from the sort index.
    execute format(c_walk_sql, 'all', v_where) into v_ids
      using v_words, p_after_name, p_after_id, p_limit, p_include_ended;
  else
    execute format(c_walk_sql, c_walk, v_where) into v_ids
      using v_words, p_after_name, p_after_id, p_limit, p_include_ended;
    if cardinality(v_ids) < p_limit and cardinality(v_ids) * c_walk_far >= p_limit * c_walk then
      execute format(c_walk_sql, c_walk_far, v_where) into v_ids
        using v_words, p_after_name, p_after_id, p_limit, p_include_ended;
    end if;
    if cardinality(v_ids) < p_limit then
      execute format(
        'select array(select s.customer_id from crm.customer_search s where %s
                       order by s.sort_name || '''', s.customer_id limit $4)', v_where) into v_ids
        using v_words, p_after_name, p_after_id, p_limit, p_include_ended;
    end if;
  end if;
  return query
  select c.id, c.customer_no, c.vs, crm.customer_name(c), c.kind, c.city, concat_ws(' ', c.street, c.house_no),
         c.state, s.sort_name
    from unnest(v_ids) with ordinality as u (customer_id, n)
    join crm.customers c on c.id = u.customer_id
    join crm.customer_search s on s.customer_id = u.customer_id
   order by u.n;
end;
$$;
comment on function crm.search_customers(text, text, bigint, integer, boolean) is
'Instant customer search over name, address, contacts, numbers, with keyset pagination.';
revoke all on function crm.search_customers(text, text, bigint, integer, boolean) from public;
grant execute on function crm.search_customers(text, text, bigint, integer, boolean) to mango_office;

create or replace function crm.tg_contacts__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  new.value := btrim(new.value);
  if new.kind in ('email', 'billing_email') then
    new.value := lower(new.value);
    if new.value !~ '^[^@\s,;]+@[^@\s,;]+\.[a-z]{2,}$' then
      raise exception 'e-mail % is not valid', new.value using errcode = 'MG001', column = 'value';
    end if;
  else
    new.value := regexp_replace(new.value, '[\s()./-]', '', 'g');
    if new.value ~ '^00' then
      new.value := '+' || substr(new.value, 3);
    elsif new.value ~ '^\d{9}$' then
      new.value := '+420' || new.value;
    end if;
    if new.value !~ '^\+\d{8,15}$' then
      raise exception 'phone number % is not valid', new.value using errcode = 'MG001', column = 'value';
    end if;
  end if;
  return new;
end;
$$;
comment on function crm.tg_contacts__validate() is 'Check and normalise e-mails and phone numbers (+420…).';
revoke all on function crm.tg_contacts__validate() from public;

create or replace trigger _500_validate before insert or update on crm.contacts
for each row execute function crm.tg_contacts__validate();

create or replace function crm.tg_delivery_places__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  new.zip := crm.checked_zip(new.zip);
  if (new.latitude is null) <> (new.longitude is null) then
    raise exception 'GPS needs both latitude and longitude' using errcode = 'MG001', column = 'latitude';
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function crm.tg_delivery_places__validate() is 'Check a delivery place''s PSČ and GPS.';
revoke all on function crm.tg_delivery_places__validate() from public;

create or replace trigger _500_validate before insert or update on crm.delivery_places
for each row execute function crm.tg_delivery_places__validate();

create or replace function crm.end_customer(p_customer_id bigint, p_on date, p_reason text)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A customer is never deleted: their running services end on the date and the customer is hidden.
-- The date cannot be before the customer began, nor before one of their running services began
-- (an end before its start would cut the service to its first day).
declare
  v_customer crm.customers;
  v_service record;
begin
  select * into v_customer from crm.customers where id = p_customer_id and state = 'active' for update;
  if not found then
    raise exception 'customer % is already ended or not visible to you', p_customer_id using errcode = 'MG004';
  end if;
  if p_on is null then
    raise exception 'give the date the customer ends' using errcode = 'MG001', column = 'ended_on';
  end if;
  if p_on < v_customer.created_on then
    raise exception 'the customer began on %: they cannot end before that', v_customer.created_on
      using errcode = 'MG001', column = 'ended_on';
  end if;
  select s.id, lower(s.valid) as began into v_service
    from crm.services s
   where s.customer_id = p_customer_id and s.state <> 'ended' and upper_inf(s.valid) and lower(s.valid) > p_on
   order by lower(s.valid) desc
   limit 1;
  if found then
    raise exception 'service % begins on %: the customer cannot end before that', v_service.id, v_service.began
      using errcode = 'MG001', column = 'ended_on';
  end if;
  for v_service in
    select s.id from crm.services s
     where s.customer_id = p_customer_id and s.state <> 'ended' and upper_inf(s.valid)
  loop
    perform crm.end_service(v_service.id, p_on, coalesce(p_reason, 'customer ended'));
  end loop;
  update crm.customers set state = 'ended', ended_on = p_on, end_reason = p_reason where id = p_customer_id;
end;
$$;
comment on function crm.end_customer(bigint, date, text) is 'End a customer and their services; nothing is deleted.';
revoke all on function crm.end_customer(bigint, date, text) from public;
grant execute on function crm.end_customer(bigint, date, text) to mango_support, mango_sales, mango_billing;

create or replace function crm.restore_customer(p_customer_id bigint)
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  update crm.customers set state = 'active', ended_on = null, end_reason = null
   where id = p_customer_id and state = 'ended';
  if not found then
    raise exception 'customer % is not ended', p_customer_id using errcode = 'MG004';
  end if;
end;
$$;
comment on function crm.restore_customer(bigint) is
'Bring an ended customer back (services stay ended until restored).';
revoke all on function crm.restore_customer(bigint) from public;
grant execute on function crm.restore_customer(bigint) to mango_support, mango_sales, mango_billing;

-- Row-level security and grants. Customers are never deleted (CRM-5): no role has delete.
alter table crm.customers enable row level security;
alter table crm.customer_search enable row level security;
alter table crm.contacts enable row level security;
alter table crm.customer_notes enable row level security;
alter table crm.groups enable row level security;
alter table crm.customer_groups enable row level security;
alter table crm.delivery_places enable row level security;

drop policy if exists staff_select_all on crm.customers;
create policy staff_select_all on crm.customers for select
to mango_staff, mango_agent_scheduler, mango_agent_documents, mango_agent_provisioner using (true);
drop policy if exists front_insert_all on crm.customers;
create policy front_insert_all on crm.customers for insert to mango_staff with check (true);
drop policy if exists front_update_all on crm.customers;
create policy front_update_all on crm.customers for update to mango_staff using (true);
grant select on crm.customers to mango_office, mango_agent_scheduler, mango_agent_documents, mango_agent_provisioner;
grant insert (
    operator_id, customer_no, vs, kind, first_name, last_name, company_name, ico, dic, birth_date, street,
    house_no, city, zip, country, ruian_code, parent_id, language, note, created_on
) on crm.customers to mango_support, mango_sales, mango_billing;
grant update (
    kind, first_name, last_name, company_name, ico, dic, birth_date, street, house_no, city, zip, country,
    ruian_code, parent_id, language, note, state, ended_on, end_reason
) on crm.customers to mango_support, mango_sales, mango_billing;

drop policy if exists staff_select_all on crm.customer_search;
create policy staff_select_all on crm.customer_search for select to mango_staff using (true);
grant select on crm.customer_search to mango_office;

do $$
declare
  v_table text;
begin
  foreach v_table in array array['contacts', 'customer_notes', 'customer_groups', 'delivery_places'] loop
    execute format('drop policy if exists staff_select_all on crm.%I', v_table);
    execute format('create policy staff_select_all on crm.%I for select to mango_staff, mango_agent_scheduler, '
                   'mango_agent_documents, mango_agent_provisioner using (true)', v_table);
    execute format('drop policy if exists front_write_all on crm.%I', v_table);
    execute format('create policy front_write_all on crm.%I for all to mango_staff using (true) with check (true)',
                   v_table);
    execute format('grant select on crm.%I to mango_office', v_table);
    execute format('grant insert, update, delete on crm.%I to mango_support, mango_sales, mango_billing', v_table);
  end loop;
end;
$$;
-- What the agents read of them: documents go to the contacts (billing e-mail) and name the place;
-- provisioning and the scheduler (which activates ordered services) need the service's place.
grant select on crm.contacts to mango_agent_documents;
grant select on crm.delivery_places to mango_agent_documents, mango_agent_provisioner, mango_agent_scheduler;
-- Notes are kept: written once, never edited or removed.
revoke update, delete on crm.customer_notes from mango_support, mango_sales, mango_billing;
-- Delivery places are deactivated, never deleted (services refer to them).
revoke delete on crm.delivery_places from mango_support, mango_sales, mango_billing;

drop policy if exists staff_select_all on crm.groups;
create policy staff_select_all on crm.groups for select to mango_staff using (true);
drop policy if exists admin_write_all on crm.groups;
create policy admin_write_all on crm.groups for all to mango_staff
using ((select auth.may('admin'))) with check ((select auth.may('admin')));
grant select on crm.groups to mango_office;
grant insert, update, delete on crm.groups to mango_admin;

select audit.enable('crm.customers');
select audit.enable('crm.contacts');
select audit.enable('crm.customer_notes');
select audit.enable('crm.groups');
select audit.enable('crm.customer_groups');
select audit.enable('crm.delivery_places');
