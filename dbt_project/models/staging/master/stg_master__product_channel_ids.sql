{#- One row per marketplace listing id in the channel product-id map (渠道商品对照): which merchant
    code a JD SKU id or Douyin product id sells. The channel's name is mapped to the channel code
    of seeds/sales_channels through seed code_map (list sales_channel_name); a name the list lacks
    is 'unknown' and shows in quality_unmapped_codes. -#}
with source as (
    {{ deduplicate(source('raw', 'product_channel_ids'), partition_by='sales_channel, channel_product_id',
                   order_by=newest_version_first('product_channel_ids')) }}
),

channel_names as (
    select * from {{ ref('code_map') }} where code_list = 'sales_channel_name'
)

select
    {{ code_or_unknown('channel_names.code', 'source.sales_channel') }} as sales_channel,
    source.sales_channel as source_sales_channel,
    source.channel_product_id,
    source.merchant_code,
    {{ merchant_code_key('source.merchant_code') }} as merchant_code_key,
    source.channel_product_name,
    {{ lineage_columns('source', hashed=false) }}
from source
left join channel_names
    on {{ code_matches('channel_names.source_value', 'source.sales_channel') }}
