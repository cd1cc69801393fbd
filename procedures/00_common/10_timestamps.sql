-- The one trigger function that keeps a row's updated_at (trigger `_100_timestamps` on the tables
-- that have the column and no validation trigger of their own to set it).

create or replace function audit.tg__updated_at()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function audit.tg__updated_at() is 'Keep updated_at of the row being updated.';
revoke all on function audit.tg__updated_at() from public;
