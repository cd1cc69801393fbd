-- Who reads the billing tables besides the plans (00_plans.sql): row-level security and grants.

-- Everyone in the office reads runs, charges and documents (support answers the customer's
-- questions about them); they are written only by the billing functions (definer, as the owner).
do $$
declare
  v_table text;
begin
  foreach v_table in array array['runs', 'charges', 'documents', 'document_lines', 'document_vat'] loop
    execute format('alter table billing.%I enable row level security', v_table);
    execute format('drop policy if exists staff_select_all on billing.%I', v_table);
    execute format('create policy staff_select_all on billing.%I for select to mango_staff using (true)', v_table);
    execute format('grant select on table billing.%I to mango_office', v_table);
  end loop;
end;
$$;
select audit.enable('billing.runs');
