{#- One row per code value that a channel exported and no code-list seed lists yet (var
    code_columns in dbt_project.yml): where it came from, how many records carry it (after
    staging's deduplication), in how many landing files, and for order statuses the amount that
    counts in no money KPI until the value is mapped. Staging maps these values to the bucket
    'unknown'; the fix is a row in the seed. Empty when every value is mapped. -#}
{%- set string = dbt.type_string() -%}
{%- set branches = [] -%}
{%- for entry in var('code_columns') %}
    {%- set known -%}
        select {{ entry.seed_column }} as source_value
        from {{ ref(entry.seed) }}
        {%- for key, value in (entry.get('where') or {}).items() %}
        {{ 'where' if loop.first else 'and' }} {{ key }} = '{{ value }}'
        {%- endfor %}
    {%- endset -%}
    {%- set branch -%}
    select
        '{{ entry.table }}' as source_table,
        '{{ entry.raw_column }}' as source_column,
        '{{ entry.seed }}' as seed,
        {{ dbt.cast('records.' ~ entry.column, string) }} as source_value,
        count(*) as records,
        {{ 'sum(' ~ entry.amount ~ ')' if entry.get('amount') else 'cast(null as ' ~ dbt.type_numeric() ~ ')' }}
            as unmapped_amount,
        count(distinct records._source_file) as source_files,
        min(records._source_file) as example_source_file
    from {{ ref(entry.model) }} as records
    where records.{{ entry.column }} is not null
      and not exists (
          select 1 from ({{ known }}) as known
          where {{ code_matches('known.source_value', 'records.' ~ entry.column) }}
      )
    group by {{ dbt.cast('records.' ~ entry.column, string) }}
    {%- endset -%}
    {%- do branches.append(branch) -%}
{%- endfor %}

with unmapped as (
    {{ branches | join('\n    union all\n') }}
)

select
    source_table,
    source_column,
    seed,
    source_value,
    records,
    unmapped_amount,
    source_files,
    example_source_file
from unmapped
