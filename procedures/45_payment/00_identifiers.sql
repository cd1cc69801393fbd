-- Czech bank account numbers: the mod-11 check of prefix and number, IBAN check digits, the IBAN
-- of a Czech account.

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
