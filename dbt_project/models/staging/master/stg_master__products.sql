{#- One row per merchant code (商家编码 / 货号) of the product master (ERP 商品档案), the latest
    exported version, with the matching key every channel's code is compared on
    (macro merchant_code_key). -#}
with source as (
    {{ deduplicate(source('raw', 'products'), partition_by='merchant_code',
                   order_by=newest_version_first('products')) }}
)

select
    source.merchant_code,
    {{ merchant_code_key('source.merchant_code') }} as merchant_code_key,
    'master' as channel,
    source.product_name,
    source.category,
    source.series,
    source.launched_on,
    source.list_price,
    source.product_status,
    source.consumption_cycle_days,
    {{ lineage_columns('source', hashed=false) }}
from source
