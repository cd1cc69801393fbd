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

create or replace function billing.tg_document_parts__immutable()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A line or a VAT recap row belongs to its document: nothing is added to, changed in or removed
-- from an issued document.
declare
  v_number text;
begin
  select d.number into v_number
    from billing.documents d
   where d.id in (case when tg_op <> 'INSERT' then old.document_id end,
                  case when tg_op <> 'DELETE' then new.document_id end)
     and d.state = 'issued'
   limit 1;
  if found then
    raise exception 'document % is issued: its lines and VAT recap cannot change', v_number using errcode = 'MG041';
  end if;
  return case tg_op when 'DELETE' then old else new end;
end;
$$;
comment on function billing.tg_document_parts__immutable() is
'Refuse to change the lines or VAT recap of an issued document.';
revoke all on function billing.tg_document_parts__immutable() from public;

create or replace trigger _100_immutable before insert or update or delete on billing.document_lines
for each row execute function billing.tg_document_parts__immutable();
create or replace trigger _100_immutable before insert or update or delete on billing.document_vat
for each row execute function billing.tg_document_parts__immutable();

create or replace function billing.tg_charges__immutable()
returns trigger
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp
as $$
-- A charge that an issued document bills is part of that document: it never changes.
declare
  v_number text;
begin
  select d.number into v_number
    from billing.document_lines l
    join billing.documents d on d.id = l.document_id
   where l.charge_id = old.id and d.state = 'issued'
   limit 1;
  if found then
    raise exception 'charge % is billed by the issued document %: it cannot be %', old.id, v_number,
      case tg_op when 'DELETE' then 'deleted' else 'changed' end
      using errcode = 'MG041';
  end if;
  return case tg_op when 'DELETE' then old else new end;
end;
$$;
comment on function billing.tg_charges__immutable() is 'Refuse to change or delete a charge an issued document bills.';
revoke all on function billing.tg_charges__immutable() from public;

create or replace trigger _100_immutable before update or delete on billing.charges
for each row execute function billing.tg_charges__immutable();

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
