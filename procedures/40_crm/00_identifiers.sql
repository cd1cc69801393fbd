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

create or replace function payment.is_valid_account(p_prefix text, p_number text)
returns boolean
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_weights integer [] := array[6, 3, 7, 9, 10, 5, 8, 4, 2, 1];
  v_num text := lpad(coalesce(p_number, ''), 10, '0');
  v_pre text := lpad(coalesce(p_prefix, ''), 6, '0');
  v_sum integer := 0;
begin
  if coalesce(p_number, '') !~ '^\d{2,10}$' or coalesce(p_prefix, '0') !~ '^\d{1,6}$' then
    return false;
  end if;
  for i in 1..10 loop
    v_sum := v_sum + substr(v_num, i, 1)::integer * v_weights[i];
  end loop;
  if v_sum % 11 <> 0 then
    return false;
  end if;
  v_sum := 0;
  for i in 1..6 loop
    v_sum := v_sum + substr(v_pre, i, 1)::integer * v_weights[i + 4];
  end loop;
  return v_sum % 11 = 0;
end;
$$;
comment on function payment.is_valid_account(text, text) is 'Whether a Czech account prefix and number pass mod 11.';
revoke all on function payment.is_valid_account(text, text) from public;
grant execute on function payment.is_valid_account(text, text) to mango_office, mango_agent;

create or replace function payment.is_valid_iban(p_iban text)
returns boolean
language plpgsql immutable strict security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v text := upper(replace(p_iban, ' ', ''));
  v_digits text := '';
  v_rest integer := 0;
  c text;
begin
  if v !~ '^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$' then
    return false;
  end if;
  v := substr(v, 5) || substr(v, 1, 4);
  foreach c in array regexp_split_to_array(v, '') loop
    v_digits := v_digits || case when c ~ '\d' then c else (ascii(c) - 55)::text end;
  end loop;
  foreach c in array regexp_split_to_array(v_digits, '') loop
    v_rest := (v_rest * 10 + c::integer) % 97;
  end loop;
  return v_rest = 1;
end;
$$;
comment on function payment.is_valid_iban(text) is 'Whether an IBAN passes the mod-97 check.';
revoke all on function payment.is_valid_iban(text) from public;
grant execute on function payment.is_valid_iban(text) to mango_office, mango_agent;

create or replace function payment.czech_iban(p_prefix text, p_number text, p_bank_code text)
returns text
language plpgsql immutable security invoker set search_path = pg_catalog, pg_temp
as $$
declare
  v_bban text := p_bank_code || lpad(coalesce(p_prefix, ''), 6, '0') || lpad(p_number, 10, '0');
  v_digits text := v_bban || '123500';  -- 'CZ' = 12 35, check digits 00
  v_rest integer := 0;
  c text;
begin
  foreach c in array regexp_split_to_array(v_digits, '') loop
    v_rest := (v_rest * 10 + c::integer) % 97;
  end loop;
  return 'CZ' || lpad((98 - v_rest)::text, 2, '0') || v_bban;
end;
$$;
comment on function payment.czech_iban(text, text, text) is 'The IBAN of a Czech account number.';
revoke all on function payment.czech_iban(text, text, text) from public;
grant execute on function payment.czech_iban(text, text, text) to mango_office, mango_agent;
