-- No session, no writes: on every table of our schemas, a staff role (a mango_as_* role, through the
-- marker mango_staff) inserts, updates or deletes only for a signed-in user (auth.user_id()). The
-- web client's own login can switch to those roles; without a live session of a user it changes
-- nothing, whatever the role's grants allow. Reads stay as the role's grants and policies say: a
-- restrictive policy on reads would ask for the session once per table of every query (measured:
-- twice the cost of the customer card), while writes are few. Definer functions run as the owner and
-- agents log in as themselves: this concerns neither.

do $$
declare
  v_table regclass;
begin
  for v_table in
    select c.oid::regclass
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(auth.app_schemas()) and c.relkind in ('r', 'p') and not c.relispartition
     order by 1
  loop
    execute format('drop policy if exists staff_signed_in_insert on %s', v_table);
    execute format('create policy staff_signed_in_insert on %s as restrictive for insert to mango_staff '
                   'with check ((select auth.user_id()) is not null)', v_table);
    execute format('drop policy if exists staff_signed_in_update on %s', v_table);
    execute format('create policy staff_signed_in_update on %s as restrictive for update to mango_staff '
                   'using ((select auth.user_id()) is not null)', v_table);
    execute format('drop policy if exists staff_signed_in_delete on %s', v_table);
    execute format('create policy staff_signed_in_delete on %s as restrictive for delete to mango_staff '
                   'using ((select auth.user_id()) is not null)', v_table);
  end loop;
end;
$$;
