-- Background jobs (PLT-4): submit, claim (financial jobs exclude each other), progress, finish.

create or replace function bus.submit_job(
    p_kind text, p_title text, p_params jsonb default '{}', p_financial boolean default false
)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: jobs are written only through these functions; the submitter is recorded.
declare
  v_id bigint;
begin
  insert into bus.jobs (kind, title, params, financial, created_by)
  values (p_kind, p_title, coalesce(p_params, '{}'), p_financial, auth.user_id())
  returning id into v_id;
  perform pg_notify('mango_jobs', p_kind);
  return v_id;
end;
$$;
comment on function bus.submit_job(text, text, jsonb, boolean) is 'Queue a background job.';
revoke all on function bus.submit_job(text, text, jsonb, boolean) from public;
grant execute on function bus.submit_job(text, text, jsonb, boolean) to mango_staff, mango_agent;

create or replace function bus.claim_job(p_worker text, p_kinds text[])
returns setof bus.jobs
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: only agents run jobs. A financial job is not started while another one runs; the
-- partial unique index jobs_one_financial_running settles a race between two workers.
declare
  v_job bus.jobs;
begin
  -- A running job whose worker stopped beating for five minutes is given up.
  update bus.jobs set state = 'failed', error = 'the worker stopped responding', finished_at = now()
   where state = 'running' and heartbeat_at < now() - interval '5 minutes';

  select * into v_job from bus.jobs j
   where j.state = 'queued' and j.kind = any(p_kinds)
     and (not j.financial or not exists (select from bus.jobs r where r.financial and r.state = 'running'))
   order by j.id
   limit 1
     for update skip locked;
  if not found then
    return;
  end if;
  begin
    update bus.jobs
       set state = 'running', worker = p_worker, started_at = now(), heartbeat_at = now()
     where id = v_job.id
    returning * into v_job;
  exception when unique_violation then
    return;  -- another financial job started meanwhile
  end;
  return next v_job;
end;
$$;
comment on function bus.claim_job(text, text[]) is 'Take the next queued job of some kinds, if it may run now.';
revoke all on function bus.claim_job(text, text[]) from public;
grant execute on function bus.claim_job(text, text[]) to mango_agent;

create or replace function bus.job_progress(p_id bigint, p_progress real, p_message text)
returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: only agents report progress.
  update bus.jobs
     set progress = least(greatest(p_progress, 0), 1), message = coalesce(p_message, message), heartbeat_at = now()
   where id = p_id and state = 'running';
$$;
comment on function bus.job_progress(bigint, real, text) is 'Report how far a running job is.';
revoke all on function bus.job_progress(bigint, real, text) from public;
grant execute on function bus.job_progress(bigint, real, text) to mango_agent;

create or replace function bus.finish_job(p_id bigint, p_result jsonb, p_error text default null)
returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: only agents finish jobs.
  update bus.jobs
     set state = case when p_error is null then 'done' else 'failed' end,
         progress = case when p_error is null then 1 else progress end,
         result = p_result, error = p_error, finished_at = now(), heartbeat_at = now()
   where id = p_id and state = 'running';
  -- A finished job may let a waiting financial job start: wake the schedulers.
  select pg_notify('mango_jobs', 'finished');
$$;
comment on function bus.finish_job(bigint, jsonb, text) is 'Record the result or the error of a job.';
revoke all on function bus.finish_job(bigint, jsonb, text) from public;
grant execute on function bus.finish_job(bigint, jsonb, text) to mango_agent;

create or replace function bus.cancel_job(p_id bigint)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: staff cancel queued jobs through this function only.
begin
  update bus.jobs set state = 'cancelled', finished_at = now()
   where id = p_id and state = 'queued'
     and (created_by = auth.user_id() or auth.has_role('admin'));
  if not found then
    raise exception 'job % is not queued or not yours to cancel', p_id using errcode = 'MG021';
  end if;
end;
$$;
comment on function bus.cancel_job(bigint) is 'Cancel a job that has not started yet.';
revoke all on function bus.cancel_job(bigint) from public;
grant execute on function bus.cancel_job(bigint) to mango_staff;

alter table bus.jobs enable row level security;
drop policy if exists staff_select_all on bus.jobs;
create policy staff_select_all on bus.jobs for select to mango_staff using (true);
drop policy if exists agent_select_all on bus.jobs;
create policy agent_select_all on bus.jobs for select to mango_agent using (true);
grant select on bus.jobs to mango_staff, mango_agent;
