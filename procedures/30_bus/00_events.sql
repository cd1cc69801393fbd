-- The outbox: enqueue (coalescing), claim with a lease, ack with the revision, fail with backoff,
-- dead letters. NOTIFY carries no data: it only wakes the agents listening on 'mango_bus'.

create or replace function bus.enqueue(p_topic text, p_entity text, p_payload jsonb default '{}')
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: no application role writes the outbox. Only the database's own functions and triggers
-- (which run as the owner) call this: it is granted to nobody. A second change of an entity before
-- an agent handled the first is the same work again: the row keeps one event, with the newer
-- payload, a higher revision and fresh attempts.
declare
  v_id bigint;
begin
  insert into bus.events as e (topic, entity, payload)
  values (p_topic, p_entity, coalesce(p_payload, '{}'))
  on conflict (topic, entity) do update
     set revision = e.revision + 1,
         payload = excluded.payload,
         attempts = 0,
         available_at = least(e.available_at, now()),
         updated_at = clock_timestamp()
  returning id into v_id;
  perform pg_notify('mango_bus', p_topic);  -- the same topic twice in a transaction is sent once
  return v_id;
end;
$$;
comment on function bus.enqueue(text, text, jsonb) is
'Tell the agents that an entity changed: one row per topic and entity, its revision counts changes.';
revoke all on function bus.enqueue(text, text, jsonb) from public;
-- No grant: see above.

create or replace function bus.claim(
    p_agent text, p_topics text[], p_limit integer default 100, p_lease_seconds integer default 60
)
returns setof bus.events
language sql volatile security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: only agents claim, through this function.
  -- The ids go in as an array so the update fetches them by primary key; a join with the picked
  -- rows was planned as a hash join over the whole outbox, slower the longer the backlog.
  update bus.events e
     set lease_until = clock_timestamp() + make_interval(secs => p_lease_seconds),
         claimed_by = p_agent,
         attempts = e.attempts + 1
   where e.id = any(array(
           select id from bus.events
            where topic = any(p_topics)
              and available_at <= now()
              and (lease_until is null or lease_until < clock_timestamp())
            order by id
            limit p_limit
              for update skip locked
         ))
  returning e.*;
$$;
comment on function bus.claim(text, text[], integer, integer) is
'Claim up to N available events of some topics for a while (the lease); others skip them.';
revoke all on function bus.claim(text, text[], integer, integer) from public;
grant execute on function bus.claim(text, text[], integer, integer) to mango_agent;

create or replace function bus.ack(p_ids bigint[], p_revisions integer[])
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: only agents acknowledge, through this function.
-- An event whose revision moved on while it was handled is released, to be handled again.
declare
  v_done integer;
begin
  delete from bus.events e
   using unnest(p_ids, p_revisions) as a(id, revision)
   where e.id = a.id and e.revision = a.revision;
  get diagnostics v_done = row_count;
  if v_done < cardinality(p_ids) then
    update bus.events e
       set lease_until = null, claimed_by = null, attempts = 0
     where e.id = any(p_ids);
    perform pg_notify('mango_bus', 'retry');
  end if;
  return v_done;
end;
$$;
comment on function bus.ack(bigint[], integer[]) is 'Acknowledge handled events (by revision); changed ones stay.';
revoke all on function bus.ack(bigint[], integer[]) from public;
grant execute on function bus.ack(bigint[], integer[]) to mango_agent;

create or replace function bus.fail(p_id bigint, p_revision integer, p_error text, p_max_attempts integer default 10)
returns text
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: only agents report failures, through this function.
declare
  v_event bus.events;
begin
  select * into v_event from bus.events where id = p_id for update;
  if not found then
    return 'gone';
  end if;
  if v_event.revision <> p_revision then
    update bus.events set lease_until = null, claimed_by = null, attempts = 0, last_error = left(p_error, 2000)
     where id = p_id;
    return 'changed';
  end if;
  if v_event.attempts >= p_max_attempts then
    delete from bus.events where id = p_id;
    insert into bus.dead_events (id, topic, entity, revision, payload, attempts, last_error, created_at)
    values (v_event.id, v_event.topic, v_event.entity, v_event.revision, v_event.payload, v_event.attempts,
            left(p_error, 2000), v_event.created_at)
    on conflict (id) do update
       set revision = excluded.revision, payload = excluded.payload, attempts = excluded.attempts,
           last_error = excluded.last_error, died_at = now();
    return 'dead';
  end if;
  -- Exponential backoff: 2, 4, 8 … seconds, at most an hour.
  update bus.events
     set lease_until = null, claimed_by = null, last_error = left(p_error, 2000),
         available_at = now() + make_interval(secs => least(power(2, v_event.attempts), 3600))
   where id = p_id;
  return 'retry';
end;
$$;
comment on function bus.fail(bigint, integer, text, integer) is
'Report a failed event: retry later with backoff, or park it as dead after too many attempts.';
revoke all on function bus.fail(bigint, integer, text, integer) from public;
grant execute on function bus.fail(bigint, integer, text, integer) to mango_agent;

create or replace function bus.extend_lease(p_ids bigint[], p_agent text, p_lease_seconds integer)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: only agents extend their leases, through this function.
declare
  v_count integer;
begin
  update bus.events set lease_until = clock_timestamp() + make_interval(secs => p_lease_seconds)
   where id = any(p_ids) and claimed_by = p_agent;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function bus.extend_lease(bigint[], text, integer) is 'Keep events claimed while a slow handler runs.';
revoke all on function bus.extend_lease(bigint[], text, integer) from public;
grant execute on function bus.extend_lease(bigint[], text, integer) to mango_agent;

create or replace function bus.next_wakeup(p_topics text[])
returns timestamptz
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: agents only. When the earliest waiting event becomes claimable.
  select min(greatest(available_at, coalesce(lease_until, available_at)))
    from bus.events where topic = any(p_topics);
$$;
comment on function bus.next_wakeup(text[]) is 'When the next event of these topics becomes claimable.';
revoke all on function bus.next_wakeup(text[]) from public;
grant execute on function bus.next_wakeup(text[]) to mango_agent;

create or replace function bus.retry_dead(p_id bigint)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: an administrator puts a dead event back in the outbox.
declare
  v_dead bus.dead_events;
begin
  perform auth.require_role('admin');
  delete from bus.dead_events where id = p_id returning * into v_dead;
  if not found then
    raise exception 'dead event % does not exist', p_id using errcode = 'MG020';
  end if;
  perform bus.enqueue(v_dead.topic, v_dead.entity, v_dead.payload);
end;
$$;
comment on function bus.retry_dead(bigint) is 'Put a dead event back in the outbox (admin).';
revoke all on function bus.retry_dead(bigint) from public;
grant execute on function bus.retry_dead(bigint) to mango_admin;

create or replace function bus.heartbeat(
    p_name text, p_instance text, p_host text, p_pid integer, p_topics text[], p_handled bigint, p_failed bigint
)
returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: agents report their state here.
  insert into bus.agents as a (name, instance, host, pid, topics, handled, failed)
  values (p_name, p_instance, p_host, p_pid, p_topics, p_handled, p_failed)
  on conflict (name, instance) do update
     set host = excluded.host, pid = excluded.pid, topics = excluded.topics, last_seen_at = now(),
         handled = excluded.handled, failed = excluded.failed;
$$;
comment on function bus.heartbeat(text, text, text, integer, text[], bigint, bigint) is
'An agent says it is alive and how much it handled.';
revoke all on function bus.heartbeat(text, text, text, integer, text[], bigint, bigint) from public;
grant execute on function bus.heartbeat(text, text, text, integer, text[], bigint, bigint) to mango_agent;

alter table bus.events enable row level security;
alter table bus.dead_events enable row level security;
alter table bus.agents enable row level security;
drop policy if exists staff_select_all on bus.events;
create policy staff_select_all on bus.events for select to mango_staff using (true);
drop policy if exists staff_select_all on bus.dead_events;
create policy staff_select_all on bus.dead_events for select to mango_staff using (true);
drop policy if exists staff_select_all on bus.agents;
create policy staff_select_all on bus.agents for select to mango_staff using (true);
grant select on bus.events, bus.dead_events, bus.agents to mango_office;
