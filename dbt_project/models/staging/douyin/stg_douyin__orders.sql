{#- Douyin shop (抖店) orders at the export's grain: one row per sub-order (子订单). Amounts
    (商品金额, 订单应付金额, 优惠总金额) are per sub-order and can be summed per order_id.
    The export has no refund amount: a sub-order whose after-sale ended in a refund, or a paid
    order that ends closed, counts as refunded in full. -#}
{{ config(**incremental_by_load('douyin_orders', unique_key='sub_order_id')) }}

with source as (
    {{ deduplicate(source('raw', 'douyin_orders'), partition_by='sub_order_id',
                   order_by=newest_version_first('douyin_orders'),
                   stage_again_by='sub_order_id') }}
),

after_sale_map as (
    select * from {{ ref('code_map') }} where code_list = 'douyin_after_sale'
),

after_sales as (
    select
        source.*,
        {{ code_or_unknown('after_sale_map.code', 'source.after_sale_status') }} as after_sale_code
    from source
    left join after_sale_map
        on {{ code_matches('after_sale_map.source_value', 'source.after_sale_status') }}
),

sub_orders as (
    -- a refund can only follow a payment, even when the export lost the payment time
    {{ with_order_status('after_sales', 'douyin', paid_amount_column='payable_amount',
                         also_paid_when="coalesce(after_sales.after_sale_code = 'refunded', false)",
                         unmapped_when="after_sales.after_sale_code = 'unknown'") }}
),

refunds as (
    select
        sub_orders.*,
        case
            when after_sale_code = 'refunded' then paid_amount_cny
            else {{ refunded_in_full('paid_amount_cny') }}
        end as refund_amount_cny
    from sub_orders
)

select
    refunds.sub_order_id,
    refunds.order_id,
    refunds.channel,
    refunds.domain,
    refunds.buyer_open_id,
    refunds.status as source_status,
    refunds.order_status,
    refunds.is_paid_order,
    refunds.is_status_mapped,
    refunds.after_sale_status as source_after_sale_status,
    refunds.after_sale_code as after_sale_status,
    refunds.created_at as ordered_at,
    refunds.paid_at,
    refunds.completed_at,
    refunds.item_title,
    refunds.product_id,
    refunds.merchant_sku,
    refunds.qty,
    refunds.item_amount,
    refunds.discount_amount,
    refunds.payable_amount,
    refunds.freight as freight_amount,
    refunds.paid_amount_cny as paid_amount,
    refunds.refund_amount_cny as refund_amount,
    refunds.unmapped_amount_cny as unmapped_amount,
    {{ refund_status('refunds.paid_amount_cny', 'refunds.refund_amount_cny') }} as refund_status,
    refunds.author_id,
    refunds.live_room_id,
    refunds.receiver_mobile_hash,
    refunds.receiver_mobile_status,
    {{ receiver_columns('refunds', name='receiver_name', mobile='receiver_mobile', detail='address_detail',
                        region=['province', 'city', 'district']) }}
    {{ lineage_columns('refunds') }},
    {{ build_id() }} as _build_id
from refunds
