{#- Keep the most recently loaded row per business key.

    Exports overlap (a 7-day and a 30-day order report both carry the same order), so raw
    holds several versions of a row; the last file loaded wins, ties broken by file name and
    row number so the choice is deterministic. Written as a row_number() subquery rather
    than QUALIFY so it runs unchanged on Spark and Trino. -#}
{% macro latest_per_key(relation, key_columns) -%}
select * from (
    select
        src.*,
        row_number() over (
            partition by {{ key_columns | join(', ') }}
            order by _loaded_at desc, _source_file desc, _source_row desc
        ) as _version_rank
    from {{ relation }} as src
) as ranked
where _version_rank = 1
{%- endmacro %}
