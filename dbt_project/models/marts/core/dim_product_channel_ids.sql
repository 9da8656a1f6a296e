{#- One row per marketplace listing id of the channel product-id map (渠道商品对照), with the
    master product it sells; merchant_code is null where the map names a code the master lacks. -#}
select
    ids.sales_channel,
    ids.channel_product_id,
    ids.merchant_code as mapped_merchant_code,
    products.merchant_code,
    ids.channel_product_name,
    products.merchant_code is not null as is_in_master
from {{ ref('stg_master__product_channel_ids') }} as ids
left join {{ ref('stg_master__products') }} as products
    on products.merchant_code_key = ids.merchant_code_key
