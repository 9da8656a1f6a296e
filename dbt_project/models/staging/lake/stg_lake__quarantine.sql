{#- One row per landing-file row that ingest rejected, with the reason and a redacted copy.
    The table comes from the _load_id prefix ('<table>/<sha>'), else from the Parquet path
    ('.../quarantine/<table>/<file>.parquet'). Ingest's reason quotes the offending value
    ("birthday: cannot parse '1988-08-24' as date"), which can be personal data that the
    redacted record hides; the quoted values are blanked here (non-personal values remain
    visible in redacted_record_json). -#}
with source as (
    select * from {{ source('lake_meta', 'quarantine') }}
)

select
    coalesce(
        {{ dbt.split_part('_load_id', "'/'", 1) }},
        {{ dbt.split_part(dbt.split_part('filename', "'/quarantine/'", 2), "'/'", 1) }}
    ) as table_name,
    _load_id,
    _source_file,
    _source_row,
    _file_sha256,
    _loaded_at,
    {{ regexp_replace_all('reason', "'''[^'']*'''", "'<value>'") }} as reason,
    failed_columns,
    raw_record as redacted_record_json
from source
