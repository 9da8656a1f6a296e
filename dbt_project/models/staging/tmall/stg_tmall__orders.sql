{#- Tmall/Taobao orders at the report's grain: one row per main order (订单编号). The 7-day
    and 30-day reports overlap, so an order arrives several times. The report has no refund or
    update time, so at equal payment times the later export wins (its title line or file date:
    newest_version_first), not the file loaded last. -#}
{{ config(**incremental_by_load('tmall_orders', unique_key='order_id')) }}

with source as (
    {{ deduplicate(source('raw', 'tmall_orders'),
                   partition_by='order_id', order_by=newest_version_first('tmall_orders'),
                   stage_again_by='order_id') }}
),

orders as (
    {{ with_order_status('source', 'tmall', paid_amount_column='paid_amount', refund_amount_column='refund_amount') }}
)

select
    orders.order_id,
    orders.channel,
    orders.domain,
    orders.buyer_nick_hash,
    orders.buyer_alipay_hash,
    orders.buyer_open_uid,
    orders.status as source_status,
    orders.order_status,
    orders.is_paid_order,
    orders.is_status_mapped,
    orders.created_at as ordered_at,
    orders.paid_at,
    orders.goods_amount,
    orders.postage as postage_amount,
    orders.total_amount,
    orders.paid_amount_cny as paid_amount,
    orders.refund_amount_cny as refund_amount,
    orders.unmapped_amount_cny as unmapped_amount,
    {{ refund_status('orders.paid_amount_cny', 'orders.refund_amount_cny') }} as refund_status,
    orders.close_reason,
    orders.item_title,
    orders.item_qty,
    orders.shop_name,
    orders.receiver_phone_hash,
    orders.receiver_phone_status,
    orders.receiver_mobile_hash,
    orders.receiver_mobile_status,
    {{ receiver_columns('orders', name='receiver_name', mobile='receiver_mobile', address='receiver_address') }}
    {{ lineage_columns('orders') }},
    {{ build_id() }} as _build_id
from orders
