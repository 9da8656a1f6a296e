{#- Tmall/Taobao orders at the report's grain: one row per main order (订单编号). The 7-day
    and 30-day reports overlap, so an order arrives several times; the latest loaded version
    (the later status) wins. -#}
with source as (
    {{ deduplicate(source('raw', 'tmall_orders'), partition_by='order_id', order_by=latest_loaded_first()) }}
),

orders as (
    {{ with_order_status('source', 'tmall', paid_amount_column='paid_amount') }}
),

amounts as (
    select
        orders.*,
        coalesce(refund_amount, 0) as refund_amount_cny
    from orders
)

select
    amounts.order_id,
    amounts.channel,
    amounts.domain,
    amounts.buyer_nick_hash,
    amounts.buyer_alipay_hash,
    amounts.buyer_open_uid,
    amounts.status as source_status,
    amounts.order_status,
    amounts.is_paid_order,
    amounts.created_at as ordered_at,
    amounts.paid_at,
    amounts.goods_amount,
    amounts.postage as postage_amount,
    amounts.total_amount,
    amounts.paid_amount_cny as paid_amount,
    amounts.refund_amount_cny as refund_amount,
    {{ refund_status('amounts.paid_amount_cny', 'amounts.refund_amount_cny') }} as refund_status,
    amounts.close_reason,
    amounts.item_title,
    amounts.item_qty,
    amounts.shop_name,
    amounts.receiver_phone_hash,
    amounts.receiver_phone_status,
    amounts.receiver_mobile_hash,
    amounts.receiver_mobile_status,
    amounts._hash_key_version,
    amounts._source_file,
    amounts._source_row,
    amounts._load_id
from amounts
