-- Bus housekeeping: give back claimed events an agent will not handle, and purge old rows.

create or replace function bus.release(p_ids bigint[], p_agent text)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: only agents release their claims, through this function.
-- The claim did not count as an attempt: the event was never handled.
declare
  v_count integer;
begin
  update bus.events
     set lease_until = null, claimed_by = null, attempts = greatest(attempts - 1, 0)
   where id = any(p_ids) and claimed_by = p_agent;
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform pg_notify('mango_bus', 'released');
  end if;
  return v_count;
end;
$$;
comment on function bus.release(bigint[], text) is
'Give back claimed events an agent stops before handling, so another agent takes them at once.';
revoke all on function bus.release(bigint[], text) from public;
grant execute on function bus.release(bigint[], text) to mango_agent;

create or replace function bus.purge(
    p_dead_keep interval default interval '30 days',
    p_jobs_keep interval default interval '90 days',
    p_agents_keep interval default interval '7 days'
)
returns table (dead_events integer, jobs integer, agents integer, dead_events_left bigint)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: housekeeping of tables no application role can write.
begin
  delete from bus.dead_events d where d.died_at < now() - p_dead_keep;
  get diagnostics dead_events = row_count;
  delete from bus.jobs j
   where j.state in ('done', 'failed', 'cancelled') and j.finished_at < now() - p_jobs_keep;
  get diagnostics jobs = row_count;
  delete from bus.agents a where a.last_seen_at < now() - p_agents_keep;
  get diagnostics agents = row_count;
  select count(*) into dead_events_left from bus.dead_events;
  return next;
end;
$$;
comment on function bus.purge(interval, interval, interval) is
'Delete dead events, finished jobs and silent agents older than the given periods; return the counts
(and how many dead events are left for someone to look at).';
revoke all on function bus.purge(interval, interval, interval) from public;
grant execute on function bus.purge(interval, interval, interval) to mango_agent_scheduler, mango_admin;
