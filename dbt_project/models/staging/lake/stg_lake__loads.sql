{#- One row per landing file loaded into a raw table (the ingest ledger). The ledger entry is
    written last, as the commit marker of a load, so every row here is a complete load.
    Rows of erased persons: rows_suppressed were never loaded (the suppression list), rows_erased
    were taken out later (python -m orchestration.erase); both are 0 in ledgers written before. -#}
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
    coalesce(rows_suppressed, 0) as rows_suppressed,
    coalesce(rows_erased, 0) as rows_erased,
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
