{#- One row per (record, identifier) observed anywhere: the raw material of the member graph.
    Which staging models carry which identifiers is data: var('identity_sources') in
    dbt_project.yml. Values are trimmed; empty values are dropped. The graph node is
    (identifier_type, identifier_value): its node_id is spelled out in int_identity__nodes, not
    stored on every observation. place: where the record happened (a store), when the source
    declares one (int_identity__node_spread).
    No group by: every source's record_key carries an error-severity uniqueness test in staging
    and each part is one identifier type of one source, so the union is already one row per
    (source_table, record_key, identifier_type, identifier_value) (the grain test sits on
    int_identity__observation_nodes). At 10M members the group by over ~230M rows ran DuckDB out
    of memory.
    Ephemeral: int_identity__observation_nodes writes it with the node and record numbers, and
    int_identity__node_spread scans it again for the few candidate values' places (at 10M, writing
    it as a string table of its own took 379 s and 10 GB of a disk-bound build).
    row_check: the hash of the source row the observation comes from (macro source_row_check), by
    which int_identity__observation_nodes' nightly tells the rows it already holds. -#}
{{ config(materialized='ephemeral') }}
{%- set parts = [] -%}
{%- for src in var('identity_sources') -%}
    {%- for identifier_type, column in src.identifiers.items() -%}
        {%- set part -%}
    select
        '{{ src.table }}' as source_table,
        {{ record_key(src.record_key) }} as record_key,
        '{{ identifier_type }}' as identifier_type,
        trim({{ dbt.cast(column, api.Column.translate_type('string')) }}) as identifier_value,
        {{ src.observed_at }} as observed_at,
        {{ dbt.cast(src.place if src.get('place') else 'null', api.Column.translate_type('string')) }} as place,
        {{ source_row_check(src) }} as row_check
    from {{ ref(src.model) }}
    where {{ identifier_present(column) }}
      {%- if src.get('where') %} and ({{ src.where }}){% endif %}
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
{%- endfor %}

{{ parts | join('\n    union all\n') }}
