{#- One row per product of the brand's product master, keyed by merchant code (商家编码 / 货号),
    with how many channel listing ids map to it (dim_product_channel_ids) and what the order
    lines sold of it. Category, series, launch date and consumption cycle are the master's. -#}
with products as (
    select * from {{ ref('stg_master__products') }}
),

channel_ids as (
    select merchant_code_key, count(*) as channel_product_ids
    from {{ ref('stg_master__product_channel_ids') }}
    group by merchant_code_key
)

select
    products.merchant_code,
    products.merchant_code_key,
    products.product_name,
    products.category,
    products.series,
    products.launched_on,
    products.list_price,
    products.product_status,
    products.consumption_cycle_days,
    coalesce(channel_ids.channel_product_ids, 0) as channel_product_ids
from products
left join channel_ids
    on channel_ids.merchant_code_key = products.merchant_code_key
