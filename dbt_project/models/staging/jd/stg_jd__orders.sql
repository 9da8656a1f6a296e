{#- JD POP orders at the export's grain: one row per order x SKU. JD prints the order-level
    amounts (订单金额, 结算金额, 应付金额, 运费金额) on every SKU row of the order: they are
    named order_* here and must be taken once per order_id when rolling up
    (order_line_number = 1), never summed over lines. -#}
{{ config(**incremental_by_load('jd_orders', unique_key='order_id')) }}

with source as (
    {{ deduplicate(source('raw', 'jd_orders'), partition_by='order_id, sku_id',
                   order_by=newest_version_first('jd_orders'),
                   stage_again_by='order_id') }}
),

orders as (
    {{ with_order_status('source', 'jd', paid_amount_column='payable_amount') }}
),

lines as (
    select
        orders.*,
        row_number() over (partition by orders.order_id order by orders.sku_id) as order_line_number,
        -- The export has no refund column: a paid order that ends cancelled was refunded in full.
        {{ refunded_in_full('orders.paid_amount_cny') }} as order_refund_amount
    from orders
)

select
    lines.order_id,
    lines.sku_id,
    lines.order_line_number,
    lines.channel,
    lines.domain,
    lines.buyer_pin_hash,
    lines.status as source_status,
    lines.order_status,
    lines.is_paid_order,
    lines.is_status_mapped,
    lines.created_at as ordered_at,
    lines.paid_at,
    lines.completed_at,
    lines.item_title,
    lines.qty,
    lines.unit_price,
    lines.unit_price * lines.qty as line_amount,
    lines.order_amount,
    lines.payable_amount as order_payable_amount,
    lines.settle_amount as order_settled_amount,
    lines.freight as order_freight_amount,
    lines.paid_amount_cny as order_paid_amount,
    lines.order_refund_amount,
    lines.unmapped_amount_cny as order_unmapped_amount,
    {{ refund_status('lines.paid_amount_cny', 'lines.order_refund_amount') }} as refund_status,
    lines.order_source,
    lines.phone_hash,
    lines.phone_status,
    {{ receiver_columns('lines', name='customer_name', mobile='phone', address='customer_address') }}
    {{ lineage_columns('lines') }},
    {{ build_id() }} as _build_id
from lines
