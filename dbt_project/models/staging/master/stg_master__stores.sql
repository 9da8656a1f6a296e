{#- One row per store from the store master. -#}
with source as (
    {{ deduplicate(source('raw', 'stores'), partition_by='store_code', order_by=newest_version_first('stores')) }}
),

statuses as (
    select * from {{ ref('code_map') }} where code_list = 'store_status'
)

select
    source.store_code,
    'master' as channel,
    source.store_name,
    source.city,
    source.region,
    source.store_type,
    source.opened_on,
    source.store_status as source_store_status,
    {{ code_or_unknown('statuses.code', 'source.store_status') }} as store_status,
    source.store_phone_hash,
    source.store_phone_status,
    {{ lineage_columns('source') }}
from source
left join statuses
    on {{ code_matches('statuses.source_value', 'source.store_status') }}
