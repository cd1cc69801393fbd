-- Customer search answers the same as a plain scan, whichever of its plans serves the query: a
-- word spread over the name order (street: the short walk), a rarer spread word (the longer
-- walk), a surname whose matches lie together far into the name order (the trigram index), a
-- rare word, several words; on every page of the keyset pagination, ended customers hidden.
begin;
select plan(14);

select tests.make_operator() as op \gset
-- 6,000 customers: surnames A…Z in blocks (a surname's customers lie together in the name
-- order), street "Common" for every 20th, "Rarer" for every 150th, one "Unique".
insert into crm.customers (operator_id, first_name, last_name, street, house_no, city, zip, state, created_on, ended_on)
select :op, 'Jan', chr(65 + (g * 26 / 6000)) || 'surname' || (g % 7),
       case when g % 20 = 0 then 'Common' when g % 150 = 7 then 'Rarer' when g = 4321 then 'Unique' else 'Other' end,
       g::text, 'Brno', '60200',
       case when g % 97 = 0 then 'ended' else 'active' end,
       date '2020-01-01',
       case when g % 97 = 0 then date '2024-01-01' end
  from generate_series(1, 6000) g;
analyze crm.customer_search;

create function pg_temp.plain(p_query text, p_after_name text, p_after_id bigint, p_limit integer)
returns bigint [] language sql stable as $$
  select array(
    select s.customer_id from crm.customer_search s
     where not s.ended
       and (p_after_name is null or (s.sort_name, s.customer_id) > (p_after_name, p_after_id))
       and s.search_text like all (array(select '%' || w || '%' from unnest(string_to_array(crm.fold(p_query), ' ')) w))
     order by s.sort_name, s.customer_id limit p_limit);
$$;
create function pg_temp.pages(p_query text, p_pages integer) returns bigint [] language plpgsql as $$
declare
  v_after_name text;
  v_after_id bigint;
  v_ids bigint [];
  v_all bigint [] := '{}';
begin
  for i in 1 .. p_pages loop
    v_ids := array(select f.id from crm.search_customers(p_query, v_after_name, v_after_id, 50) f);
    exit when cardinality(v_ids) = 0;
    v_all := v_all || v_ids;
    select s.sort_name, s.customer_id into v_after_name, v_after_id
      from crm.customer_search s where s.customer_id = v_ids[cardinality(v_ids)];
  end loop;
  return v_all;
end;
$$;
create function pg_temp.plain_pages(p_query text, p_pages integer) returns bigint [] language sql stable as $$
  select pg_temp.plain(p_query, null, null, 50 * p_pages);
$$;

call tests.as_staff('{support}');
select is(pg_temp.pages('common', 1), pg_temp.plain_pages('common', 1), 'a word every 20th customer has: first page');
select is(pg_temp.pages('common', 4), pg_temp.plain_pages('common', 4), 'and the next pages');
select is(pg_temp.pages('rarer', 1), pg_temp.plain_pages('rarer', 1), 'a word every 150th customer has: first page');
select is(pg_temp.pages('rarer', 2), pg_temp.plain_pages('rarer', 2), 'and the next page');
select is(pg_temp.pages('qsurname', 1), pg_temp.plain_pages('qsurname', 1), 'a surname far into the name order');
select is(pg_temp.pages('qsurname', 3), pg_temp.plain_pages('qsurname', 3), 'and its next pages');
select is(pg_temp.pages('msurname3', 2), pg_temp.plain_pages('msurname3', 2), 'a rarer surname');
select is(pg_temp.pages('unique', 1), pg_temp.plain_pages('unique', 1), 'a word one customer has');
select is(cardinality(pg_temp.pages('unique', 1)), 1, 'and only that one');
select is(pg_temp.pages('common brno', 2), pg_temp.plain_pages('common brno', 2), 'two words');
select is(pg_temp.pages('jan', 3), pg_temp.plain_pages('jan', 3), 'a word everyone has');
select is(pg_temp.pages('', 2), pg_temp.plain_pages('', 2), 'no words: everyone in name order');
select is(pg_temp.pages('nobody', 1), '{}'::bigint [], 'a word nobody has: nothing');
select ok(
  not exists (select from unnest(pg_temp.pages('common', 10)) i join crm.customers c on c.id = i where c.state = 'ended'),
  'ended customers stay hidden on every page'
);

select * from finish();
rollback;
