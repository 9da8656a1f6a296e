{#- Mini-program mall orders at the export's grain: one row per order. The extractor pulls by
    update time, so an order can appear in two monthly files (in flight, then final); the
    latest loaded version wins. Amounts arrive in fen and land in CNY. -#}
with source as (
    {{ deduplicate(source('raw', 'mp_orders'), partition_by='order_no', order_by=latest_loaded_first()) }}
),

orders as (
    {{ with_order_status('source', 'mini_program', paid_amount_column='paid_amount') }}
),

amounts as (
    select
        orders.*,
        coalesce(refund_amount, 0) as refund_amount_cny
    from orders
)

select
    amounts.order_no as order_id,
    amounts.channel,
    amounts.domain,
    amounts.openid,
    amounts.card_no,
    amounts.status as source_status,
    amounts.order_status,
    amounts.is_paid_order,
    amounts.created_at as ordered_at,
    amounts.paid_at,
    amounts.total_amount,
    amounts.discount_amount,
    amounts.paid_amount_cny as paid_amount,
    amounts.refund_amount_cny as refund_amount,
    {{ refund_status('amounts.paid_amount_cny', 'amounts.refund_amount_cny') }} as refund_status,
    amounts.item_count,
    amounts.store_code,
    amounts.guide_id as guide_employee_no,
    amounts.coupon_code,
    amounts.receiver_mobile_hash,
    amounts.receiver_mobile_status,
    amounts._hash_key_version,
    amounts._source_file,
    amounts._source_row,
    amounts._load_id
from amounts
