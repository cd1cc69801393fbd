-- An issued document never changes (BIL-4): its row, its lines, its VAT recap and the charges it
-- bills refuse update and delete for every role, the owner too (these are triggers, which run
-- whoever writes). A mistake on an issued document is corrected by a credit note.

create or replace function billing.tg_documents__immutable()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
begin
  if old.state = 'issued' then
    raise exception 'document % is issued and cannot be %: correct it with a credit note', old.number,
      case tg_op when 'DELETE' then 'deleted' else 'changed' end
      using errcode = 'MG041';
  end if;
  return case tg_op when 'DELETE' then old else new end;
end;
$$;
comment on function billing.tg_documents__immutable() is 'Refuse to change or delete an issued document.';
revoke all on function billing.tg_documents__immutable() from public;

create or replace trigger _100_immutable before update or delete on billing.documents
for each row execute function billing.tg_documents__immutable();

-- A line or a VAT recap row belongs to its document: nothing is added to, changed in or removed
-- from an issued document. Per statement, over the statement's transition table (a billing run
-- inserts a line per charge: one check of them all, not a query per row): the rows a statement
-- adds (insert, and the new rows of an update) and those it takes away (delete, the old rows of an
-- update) must not belong to an issued document. Each trigger names its transition table `parts`.
create or replace function billing.tg_document_parts__immutable()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_number text;
begin
  select d.number into v_number
    from parts p join billing.documents d on d.id = p.document_id
   where d.state = 'issued'
   limit 1;
  if found then
    raise exception 'document % is issued: its lines and VAT recap cannot change', v_number using errcode = 'MG041';
  end if;
  return null;
end;
$$;
comment on function billing.tg_document_parts__immutable() is
'Refuse to add, change or remove lines or VAT recap rows of an issued document (per statement).';
revoke all on function billing.tg_document_parts__immutable() from public;

do $$
declare
  v_table text;
begin
  foreach v_table in array array['document_lines', 'document_vat'] loop
    execute format('drop trigger if exists _100_immutable on billing.%I', v_table);
    execute format('create or replace trigger _100_immutable_insert after insert on billing.%I '
                   'referencing new table as parts for each statement '
                   'execute function billing.tg_document_parts__immutable()', v_table);
    execute format('create or replace trigger _100_immutable_update_new after update on billing.%I '
                   'referencing new table as parts for each statement '
                   'execute function billing.tg_document_parts__immutable()', v_table);
    execute format('create or replace trigger _100_immutable_update_old after update on billing.%I '
                   'referencing old table as parts for each statement '
                   'execute function billing.tg_document_parts__immutable()', v_table);
    execute format('create or replace trigger _100_immutable_delete after delete on billing.%I '
                   'referencing old table as parts for each statement '
                   'execute function billing.tg_document_parts__immutable()', v_table);
  end loop;
end;
$$;

create or replace function billing.tg_charges__immutable()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A charge that an issued document bills is part of that document: it never changes. Per
-- statement, over its transition table (cancelling a run deletes its charges at once).
declare
  v_charge bigint;
  v_number text;
begin
  select o.id, d.number into v_charge, v_number
    from old_rows o
    join billing.document_lines l on l.charge_id = o.id
    join billing.documents d on d.id = l.document_id
   where d.state = 'issued'
   limit 1;
  if found then
    raise exception 'charge % is billed by the issued document %: it cannot be %', v_charge, v_number,
      case tg_op when 'DELETE' then 'deleted' else 'changed' end
      using errcode = 'MG041';
  end if;
  return null;
end;
$$;
comment on function billing.tg_charges__immutable() is
'Refuse to change or delete a charge an issued document bills (per statement).';
revoke all on function billing.tg_charges__immutable() from public;

drop trigger if exists _100_immutable on billing.charges;
create or replace trigger _100_immutable_update after update on billing.charges
referencing old table as old_rows for each statement execute function billing.tg_charges__immutable();
create or replace trigger _100_immutable_delete after delete on billing.charges
referencing old table as old_rows for each statement execute function billing.tg_charges__immutable();

create or replace function billing.tg_documents__no_truncate()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- TRUNCATE fires no row trigger: refused while any document is issued.
begin
  if exists (select from billing.documents d where d.state = 'issued') then
    raise exception 'issued documents exist: % cannot be truncated', tg_table_schema || '.' || tg_table_name
      using errcode = 'MG041';
  end if;
  return null;
end;
$$;
comment on function billing.tg_documents__no_truncate() is
'Refuse to truncate documents, lines, recaps or charges once any is issued.';
revoke all on function billing.tg_documents__no_truncate() from public;

create or replace trigger _100_no_truncate before truncate on billing.documents
for each statement execute function billing.tg_documents__no_truncate();
create or replace trigger _100_no_truncate before truncate on billing.document_lines
for each statement execute function billing.tg_documents__no_truncate();
create or replace trigger _100_no_truncate before truncate on billing.document_vat
for each statement execute function billing.tg_documents__no_truncate();
create or replace trigger _100_no_truncate before truncate on billing.charges
for each statement execute function billing.tg_documents__no_truncate();
