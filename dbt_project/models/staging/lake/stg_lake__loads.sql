{#- One row per landing file loaded into a raw table (the ingest ledger). The ledger entry is
    written last, as the commit marker of a load, so every row here is a complete load. -#}
with source as (
    select * from {{ source('lake_meta', 'loads') }}
)

select
    load_id,
    table_name,
    source_file,
    file_sha256,
    file_bytes,
    file_format,
    encoding,
    header_row,
    rows_read,
    rows_loaded,
    rows_quarantined,
    blank_rows,
    mapped_columns as mapped_columns_json,
    unmapped_columns as unmapped_columns_json,
    absent_columns as absent_columns_json,
    coalesce(unmapped_columns, '[]') <> '[]' as has_unmapped_columns,
    contract_sha256,
    hash_key_version,
    loaded_at,
    exported_at,
    exported_at_from,
    seconds as load_seconds
from source
