-- The generic audit trigger, the helper that attaches it, and the history of one record.

create or replace function audit.tg__record()
returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
-- definer: writes audit.records, which no application role may write. Trigger arguments name
-- columns whose values are never copied (secrets); they appear as '***' when they change. An
-- argument '-column' leaves the column out altogether (bookkeeping such as last_login_at): a
-- change of only such columns writes no record.
declare
  v_old jsonb;
  v_new jsonb;
  v_col text;
begin
  if tg_op in ('UPDATE', 'DELETE') then
    v_old := to_jsonb(old);
  end if;
  if tg_op in ('UPDATE', 'INSERT') then
    v_new := to_jsonb(new);
  end if;
  foreach v_col in array coalesce(tg_argv::text [], '{}') loop
    if left(v_col, 1) = '-' then
      v_old := v_old - substr(v_col, 2);
      v_new := v_new - substr(v_col, 2);
      continue;
    end if;
    if v_old ? v_col then
      v_old := jsonb_set(v_old, array[v_col], '"***"'::jsonb);
    end if;
    if v_new ? v_col then
      v_new := jsonb_set(v_new, array[v_col],
                         case when tg_op = 'UPDATE' and (to_jsonb(old) -> v_col) is distinct from (to_jsonb(new) -> v_col)
                              then '"*** (changed)"'::jsonb else '"***"'::jsonb end);
    end if;
  end loop;
  if tg_op = 'UPDATE' and v_old = v_new then
    return null;  -- nothing really changed
  end if;
  insert into audit.records (table_schema, table_name, record_id, operation, old_values, new_values, db_role, user_id)
  values (tg_table_schema, tg_table_name, coalesce(v_new ->> 'id', v_old ->> 'id'), lower(tg_op), v_old, v_new,
          auth.caller_role(), auth.user_id());
  return null;
end;
$$;
comment on function audit.tg__record() is
'Row trigger: write old and new values, the role and the user to audit.records.';
revoke all on function audit.tg__record() from public;

create or replace function audit.enable(p_table regclass, p_secret_columns text[] default '{}')
returns void
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  execute format(
    'create or replace trigger _800_audit after insert or update or delete on %s '
    'for each row execute function audit.tg__record(%s)',
    p_table,
    coalesce((select string_agg(quote_literal(c), ', ') from unnest(p_secret_columns) c), '')
  );
end;
$$;
comment on function audit.enable(regclass, text[]) is
'Attach the audit trigger to a table: secret columns are masked, ''-column'' ones left out.';
revoke all on function audit.enable(regclass, text[]) from public;

create or replace function audit.changes(p_old jsonb, p_new jsonb)
returns jsonb
language sql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
  -- {"column": {"old": …, "new": …}} for every column whose value differs.
  select coalesce(jsonb_object_agg(k, jsonb_build_object('old', p_old -> k, 'new', p_new -> k)), '{}')
    from (select jsonb_object_keys(coalesce(p_old, '{}') || coalesce(p_new, '{}')) as k) keys
   where (p_old -> k) is distinct from (p_new -> k)
     and k not in ('updated_at');
$$;
comment on function audit.changes(jsonb, jsonb) is 'The columns that differ between two row images, old and new.';
revoke all on function audit.changes(jsonb, jsonb) from public;
grant execute on function audit.changes(jsonb, jsonb) to mango_office, mango_flow;

create or replace view audit.history
with (security_invoker = true)
as
select
    r.id,
    r.changed_at,
    r.table_schema,
    r.table_name,
    r.record_id,
    r.operation,
    audit.changes(r.old_values, r.new_values) as changes,
    r.db_role,
    r.user_id,
    u.username::text as username,
    u.full_name as user_full_name
from audit.records as r
left join auth.users as u on r.user_id = u.id;
comment on view audit.history is 'Audit records with the changed columns and the user''s name, newest by id.';
grant select on audit.history to mango_office, mango_flow;

alter table audit.records enable row level security;
drop policy if exists staff_select_all on audit.records;
create policy staff_select_all on audit.records for select to mango_staff using (true);
revoke all on audit.records from public;
grant select on audit.records to mango_office, mango_flow;

select audit.enable('auth.users', array['password_hash', '-last_login_at', '-updated_at']);

-- The history of lawful cases, queries and exports (the flow schema, procedures/70_flow) is as
-- confidential as they are: staff without the flow role (administrators too) do not see it.
drop policy if exists flow_records_officers_only on audit.records;
create policy flow_records_officers_only on audit.records as restrictive for select to public
using (table_schema <> 'flow' or (select auth.may('flow')));
