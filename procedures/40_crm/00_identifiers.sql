-- Czech identifiers: IČO (check digit), DIČ (format), bank account (mod 11) and IBAN (mod 97).

create or replace function crm.is_valid_ico(p_ico text)
returns boolean
language plpgsql immutable strict security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_sum integer := 0;
  v_rest integer;
  v_check integer;
begin
  if p_ico !~ '^\d{8}$' then
    return false;
  end if;
  for i in 1..7 loop
    v_sum := v_sum + substr(p_ico, i, 1)::integer * (9 - i);
  end loop;
  v_rest := v_sum % 11;
  v_check := case v_rest when 0 then 1 when 1 then 0 else 11 - v_rest end;
  return v_check = substr(p_ico, 8, 1)::integer;
end;
$$;
comment on function crm.is_valid_ico(text) is 'Whether an IČO has 8 digits and a right check digit.';
revoke all on function crm.is_valid_ico(text) from public;
grant execute on function crm.is_valid_ico(text) to mango_office, mango_agent, mango_customer;

create or replace function crm.is_valid_dic(p_dic text)
returns boolean
language sql immutable strict security invoker set search_path = pg_catalog, pg_temp
as $$
  -- CZ + 8 digits (a company: its IČO, with its check digit) or CZ + 9–10 digits (a person).
  select case
           when p_dic ~ '^CZ\d{8}$' then crm.is_valid_ico(substr(p_dic, 3))
           when p_dic ~ '^CZ\d{9,10}$' then true
           when p_dic ~ '^[A-Z]{2}[0-9A-Z+*.]{2,12}$' and p_dic !~ '^CZ' then true  -- other EU VAT numbers
           else false
         end;
$$;
comment on function crm.is_valid_dic(text) is 'Whether a DIČ (VAT number) has a valid form.';
revoke all on function crm.is_valid_dic(text) from public;
grant execute on function crm.is_valid_dic(text) to mango_office, mango_agent, mango_customer;

create or replace function crm.checked_ico(p_ico text)
returns text
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
-- An IČO as stored: without spaces, null when empty; an invalid one is refused (column ico).
declare
  v text := nullif(regexp_replace(coalesce(p_ico, ''), '\s', '', 'g'), '');
begin
  if v is not null and not crm.is_valid_ico(v) then
    raise exception 'IČO % is not valid: it must have 8 digits and a right check digit', v
      using errcode = 'MG001', column = 'ico';
  end if;
  return v;
end;
$$;
comment on function crm.checked_ico(text) is
'Normalise an IČO and refuse an invalid one (for the validation triggers).';
revoke all on function crm.checked_ico(text) from public;
grant execute on function crm.checked_ico(text) to mango_office, mango_agent, mango_customer;

create or replace function crm.checked_dic(p_dic text)
returns text
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
-- A DIČ as stored: upper case without spaces, null when empty; an invalid one is refused (column dic).
declare
  v text := nullif(upper(regexp_replace(coalesce(p_dic, ''), '\s', '', 'g')), '');
begin
  if v is not null and not crm.is_valid_dic(v) then
    raise exception 'DIČ % is not valid: expected CZ and 8 to 10 digits', v using errcode = 'MG001', column = 'dic';
  end if;
  return v;
end;
$$;
comment on function crm.checked_dic(text) is 'Normalise a DIČ and refuse an invalid one (for the validation triggers).';
revoke all on function crm.checked_dic(text) from public;
grant execute on function crm.checked_dic(text) to mango_office, mango_agent, mango_customer;

create or replace function crm.checked_zip(p_zip text, p_country text default 'CZ')
returns text
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
-- A PSČ as stored: "123 45", null when empty; in Czechia five digits are required (column zip).
declare
  v text := nullif(regexp_replace(btrim(coalesce(p_zip, '')), '^(\d{3})\s*(\d{2})$', '\1 \2'), '');
begin
  if v is not null and coalesce(p_country, 'CZ') = 'CZ' and v !~ '^\d{3} \d{2}$' then
    raise exception 'PSČ % is not valid: five digits expected', v using errcode = 'MG001', column = 'zip';
  end if;
  return v;
end;
$$;
comment on function crm.checked_zip(text, text) is
'Normalise a PSČ and refuse an invalid Czech one (for the validation triggers).';
revoke all on function crm.checked_zip(text, text) from public;
grant execute on function crm.checked_zip(text, text) to mango_office, mango_agent, mango_customer;
