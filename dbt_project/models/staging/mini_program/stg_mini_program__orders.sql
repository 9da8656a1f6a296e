{#- Mini-program mall orders at the export's grain: one row per order. The extractor pulls by
    update time, so an order can appear in two monthly files (in flight, then final); the
    version with the latest update time wins (newest_version_first). Amounts arrive in fen and
    land in CNY. -#}
{{ config(**incremental_by_load('mp_orders', unique_key='order_id')) }}

with source as (
    {{ deduplicate(source('raw', 'mp_orders'),
                   partition_by='order_no', order_by=newest_version_first('mp_orders'),
                   stage_again_by='order_no', staged_as='order_id') }}
),

orders as (
    {{ with_order_status('source', 'mini_program', paid_amount_column='paid_amount', refund_amount_column='refund_amount') }}
)

select
    orders.order_no as order_id,
    orders.channel,
    orders.domain,
    orders.openid,
    orders.card_no,
    orders.status as source_status,
    orders.order_status,
    orders.is_paid_order,
    orders.is_status_mapped,
    orders.created_at as ordered_at,
    orders.paid_at,
    orders.total_amount,
    orders.discount_amount,
    orders.paid_amount_cny as paid_amount,
    orders.refund_amount_cny as refund_amount,
    orders.unmapped_amount_cny as unmapped_amount,
    {{ refund_status('orders.paid_amount_cny', 'orders.refund_amount_cny') }} as refund_status,
    orders.item_count,
    orders.store_code,
    orders.guide_id as guide_employee_no,
    orders.coupon_code,
    orders.receiver_mobile_hash,
    orders.receiver_mobile_status,
    {{ receiver_columns('orders', name='receiver_name', mobile='receiver_mobile', address='receiver_address') }}
    {{ lineage_columns('orders') }},
    {{ build_id() }} as _build_id
from orders
