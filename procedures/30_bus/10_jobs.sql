-- Background jobs (PLT-4): submit, claim (financial jobs exclude each other), progress, finish.

-- Job kinds are data (bus.job_kinds, bus.job_kind_params): who may submit a kind, whether it is
-- financial, which parameters it takes. bus.submit_job checks all of it for every caller, the
-- scheduler's periodic runs and `mango jobs submit` included.

create or replace function bus.tg_job_kinds__validate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- Who may submit a kind are names of auth.staff_roles, kept sorted and without duplicates.
declare
  v_unknown text;
begin
  select string_agg(r, ', ' order by r) into v_unknown
    from unnest(new.submitted_by) r where not exists (select from auth.staff_roles s where s.name = r);
  if v_unknown is not null then
    raise exception 'unknown staff role: %', v_unknown using errcode = 'MG010', column = 'submitted_by';
  end if;
  new.submitted_by := array(select distinct r from unnest(new.submitted_by) r order by r);
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end;
$$;
comment on function bus.tg_job_kinds__validate() is 'A job kind is submitted by known staff roles, sorted.';
revoke all on function bus.tg_job_kinds__validate() from public;

create or replace trigger _500_validate before insert or update on bus.job_kinds
for each row execute function bus.tg_job_kinds__validate();

create or replace function bus.may_submit(p_kind bus.job_kinds)
returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- The scheduler agent for the kinds it submits itself; a signed-in user (or the console) who
  -- holds one of the kind's roles. A role switched to without a session is nobody.
  select (p_kind.scheduler and auth.caller_role() = 'mango_agent_scheduler')
      or exists (select from unnest(p_kind.submitted_by) r where auth.may(r));
$$;
comment on function bus.may_submit(bus.job_kinds) is 'Whether the caller may submit jobs of a kind.';
revoke all on function bus.may_submit(bus.job_kinds) from public;

create or replace function bus.checked_job_params(p_kind bus.job_kinds, p_params jsonb)
returns jsonb
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp
as $$
-- The parameters of a job as its kind defines them (bus.job_kind_params), or an error naming the
-- parameter that is unknown, missing, of the wrong type or out of bounds. Dates come back as
-- YYYY-MM-DD.
declare
  v_param bus.job_kind_params;
  v_key text;
  v_value jsonb;
  v_number numeric;
  v_text text;
  v_date date;
  v_latest date;
  v_out jsonb := '{}'::jsonb;
begin
  if p_params is null then
    p_params := '{}'::jsonb;
  end if;
  if jsonb_typeof(p_params) <> 'object' then
    raise exception 'the parameters of a job are a JSON object, not %', jsonb_typeof(p_params)
      using errcode = 'MG022', column = 'params';
  end if;
  for v_key, v_value in select e.key, e.value from jsonb_each(p_params) e order by e.key loop
    select * into v_param from bus.job_kind_params p where p.kind_id = p_kind.id and p.name = v_key;
    if not found then
      raise exception 'job kind % has no parameter %', p_kind.kind, left(v_key, 60)
        using errcode = 'MG022', column = left(v_key, 60);
    end if;
    case v_param.type
    when 'integer', 'number' then
      if jsonb_typeof(v_value) <> 'number' then
        raise exception 'parameter % must be a number, not %', v_key, left(v_value::text, 60)
          using errcode = 'MG022', column = v_key;
      end if;
      v_number := v_value::text::numeric;
      if v_param.type = 'integer' and v_number <> trunc(v_number) then
        raise exception 'parameter % must be a whole number, not %', v_key, v_number
          using errcode = 'MG022', column = v_key;
      end if;
      if v_number < v_param.minimum or v_number > v_param.maximum then
        raise exception 'parameter % must be %, not %', v_key,
          case when v_param.maximum is null then 'at least ' || v_param.minimum
               when v_param.minimum is null then 'at most ' || v_param.maximum
               else 'between ' || v_param.minimum || ' and ' || v_param.maximum end, v_number
          using errcode = 'MG022', column = v_key;
      end if;
    when 'boolean' then
      if jsonb_typeof(v_value) <> 'boolean' then
        raise exception 'parameter % must be true or false, not %', v_key, left(v_value::text, 60)
          using errcode = 'MG022', column = v_key;
      end if;
    when 'text' then
      v_text := v_value #>> '{}';
      if jsonb_typeof(v_value) <> 'string' or length(v_text) > 200 then
        raise exception 'parameter % must be a text of at most 200 characters', v_key
          using errcode = 'MG022', column = v_key;
      end if;
      if v_param.choices is not null and not v_text = any(v_param.choices) then
        raise exception 'parameter % must be one of %, not %', v_key, array_to_string(v_param.choices, ', '),
          left(v_text, 60) using errcode = 'MG022', column = v_key;
      end if;
    when 'date' then
      v_text := v_value #>> '{}';
      begin
        if jsonb_typeof(v_value) <> 'string' or v_text !~ '^\d{4}-\d{2}-\d{2}$' then
          raise exception using errcode = '22007';
        end if;
        v_date := v_text::date;
      exception when invalid_datetime_format or datetime_field_overflow then
        raise exception 'parameter % must be a date (YYYY-MM-DD), not %', v_key, left(v_value::text, 60)
          using errcode = 'MG022', column = v_key;
      end;
      v_latest := crm.earliest_business_date();
      if v_param.not_after_today and v_date > v_latest then
        raise exception 'parameter % must not be later than today (%), not %', v_key, v_latest, v_date
          using errcode = 'MG022', column = v_key;
      end if;
      v_value := to_jsonb(v_date::text);
    end case;
    v_out := v_out || jsonb_build_object(v_key, v_value);
  end loop;
  select p.name into v_key
    from bus.job_kind_params p
   where p.kind_id = p_kind.id and p.required and not p_params ? p.name
   order by p.name limit 1;
  if found then
    raise exception 'job kind % needs the parameter %', p_kind.kind, v_key using errcode = 'MG022', column = v_key;
  end if;
  return v_out;
end;
$$;
comment on function bus.checked_job_params(bus.job_kinds, jsonb) is
'A job''s parameters checked against its kind: names, types, bounds, required ones.';
revoke all on function bus.checked_job_params(bus.job_kinds, jsonb) from public;

create or replace function bus.submit_job(p_kind text, p_title text default null, p_params jsonb default '{}')
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: jobs are written only through these functions; the submitter is recorded. Who may
-- submit, whether the job is financial and its parameters all come from the kind (bus.job_kinds);
-- an unknown kind is named, the known ones are not listed.
declare
  v_kind bus.job_kinds;
  v_params jsonb;
  v_id bigint;
begin
  select * into v_kind from bus.job_kinds k where k.kind = p_kind;
  if not found then
    raise exception 'unknown job kind %', coalesce(quote_literal(left(p_kind, 60)), 'none')
      using errcode = 'MG022', column = 'kind';
  end if;
  if not bus.may_submit(v_kind) then
    raise exception 'jobs of kind % need a signed-in user with one of the roles %', v_kind.kind,
      array_to_string(v_kind.submitted_by, ', ') using errcode = '42501';
  end if;
  v_params := bus.checked_job_params(v_kind, p_params);
  if length(p_title) > 200 then
    raise exception 'a job''s title has at most 200 characters' using errcode = 'MG022', column = 'title';
  end if;
  insert into bus.jobs (kind, title, params, financial, created_by)
  values (v_kind.kind, coalesce(nullif(btrim(p_title), ''), v_kind.title), v_params, v_kind.financial, auth.user_id())
  returning id into v_id;
  perform pg_notify('mango_jobs', v_kind.kind);
  return v_id;
end;
$$;
comment on function bus.submit_job(text, text, jsonb) is
'Queue a background job of a kind the caller may submit (title: the kind''s unless given).';
revoke all on function bus.submit_job(text, text, jsonb) from public;
grant execute on function bus.submit_job(text, text, jsonb) to mango_office, mango_agent_scheduler;

create or replace function bus.my_job_kinds()
returns table (kind text, title text, financial boolean, params jsonb)
language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
  -- definer: the kinds tables are read only through this and bus.submit_job. The kinds the caller
  -- may submit, each with its parameters ({name: {type, required, minimum, maximum, …}}).
  select k.kind, k.title, k.financial,
         coalesce((select jsonb_object_agg(p.name, jsonb_strip_nulls(jsonb_build_object(
                            'type', p.type, 'required', p.required, 'minimum', p.minimum, 'maximum', p.maximum,
                            'not_after_today', p.not_after_today, 'choices', p.choices, 'description', p.description)))
                     from bus.job_kind_params p where p.kind_id = k.id), '{}')
    from bus.job_kinds k
   where bus.may_submit(k)
   order by k.kind;
$$;
comment on function bus.my_job_kinds() is 'The job kinds the caller may submit, with their parameters.';
revoke all on function bus.my_job_kinds() from public;
grant execute on function bus.my_job_kinds() to mango_office, mango_agent_scheduler;

alter table bus.job_kinds enable row level security;
alter table bus.job_kind_params enable row level security;
select audit.enable('bus.job_kinds');
select audit.enable('bus.job_kind_params');

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
grant execute on function bus.claim_job(text, text[]) to mango_agent_scheduler;

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
grant execute on function bus.job_progress(bigint, real, text) to mango_agent_scheduler;

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
grant execute on function bus.finish_job(bigint, jsonb, text) to mango_agent_scheduler;

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
grant execute on function bus.cancel_job(bigint) to mango_office;

alter table bus.jobs enable row level security;
drop policy if exists staff_select_all on bus.jobs;
create policy staff_select_all on bus.jobs for select to mango_staff using (true);
drop policy if exists agent_select_all on bus.jobs;
create policy agent_select_all on bus.jobs for select to mango_agent_scheduler using (true);
grant select on bus.jobs to mango_office, mango_agent_scheduler;
