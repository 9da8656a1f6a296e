{#- Generic test on a column filled from a code-list seed: every source value present in the
    data must have a row in the seed. Fails with one row per unmapped source value (and how
    many rows carry it), so the fix is obvious: add that value to the seed. -#}
{% test all_codes_mapped(model, column_name, source_column) %}
select
    {{ source_column }} as unmapped_value,
    count(*) as n_rows
from {{ model }}
where {{ source_column }} is not null
  and {{ column_name }} is null
group by {{ source_column }}
{% endtest %}
