{#- Every landing file's counts reconcile end to end, per load (= table x file):
    * the ledger adds up: rows_read = rows_loaded + rows_quarantined + rows_suppressed + rows_erased
      (rows of erased persons: not loaded, or taken out later; both lower the other two);
    * the raw table holds exactly rows_loaded rows with that _load_id;
    * the quarantine holds exactly rows_quarantined rows with that _load_id;
    * no raw or quarantine rows exist for a load the ledger does not know (a torn load).
    Raw tables are every table of source `raw`, read from the graph, so a new contract's
    source is covered as soon as it is declared. Any row returned is a failure. -#}
{%- set raw_tables = [] -%}
{%- for node in graph.sources.values() | sort(attribute='name') -%}
    {%- if node.source_name == 'raw' -%}{%- do raw_tables.append(node.name) -%}{%- endif -%}
{%- endfor %}

with ledger as (
    select load_id, table_name, rows_read, rows_loaded, rows_quarantined, rows_suppressed, rows_erased
    from {{ ref('stg_lake__loads') }}
),

raw_counts as (
    {%- for table in raw_tables %}
    select '{{ table }}' as table_name, _load_id as load_id, count(*) as raw_rows
    from {{ source('raw', table) }}
    group by _load_id
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

quarantine_counts as (
    select table_name, _load_id as load_id, count(*) as quarantined_rows
    from {{ ref('stg_lake__quarantine') }}
    group by table_name, _load_id
),

compared as (
    select
        coalesce(ledger.load_id, raw_counts.load_id, quarantine_counts.load_id) as load_id,
        coalesce(ledger.table_name, raw_counts.table_name, quarantine_counts.table_name) as table_name,
        ledger.rows_read,
        ledger.rows_loaded,
        ledger.rows_quarantined,
        ledger.rows_suppressed,
        ledger.rows_erased,
        coalesce(raw_counts.raw_rows, 0) as raw_rows,
        coalesce(quarantine_counts.quarantined_rows, 0) as quarantined_rows,
        ledger.load_id is not null as in_ledger
    from ledger
    full outer join raw_counts
        on raw_counts.load_id = ledger.load_id
    full outer join quarantine_counts
        on quarantine_counts.load_id = coalesce(ledger.load_id, raw_counts.load_id)
)

select
    *,
    case
        when not in_ledger then 'rows without a ledger entry (torn load)'
        when rows_read <> rows_loaded + rows_quarantined + rows_suppressed + rows_erased
            then 'ledger: rows_read <> rows_loaded + rows_quarantined + rows_suppressed + rows_erased'
        when raw_rows <> rows_loaded then 'raw row count <> rows_loaded'
        when quarantined_rows <> rows_quarantined then 'quarantine row count <> rows_quarantined'
    end as failure
from compared
where not in_ledger
   or rows_read <> rows_loaded + rows_quarantined + rows_suppressed + rows_erased
   or raw_rows <> rows_loaded
   or quarantined_rows <> rows_quarantined
