{#- JD POP orders at the export's grain: one row per order x SKU. JD prints the order-level
    amounts (订单金额, 结算金额, 应付金额, 运费金额) on every SKU row of the order: they are
    named order_* here and must be taken once per order_id when rolling up
    (order_line_number = 1), never summed over lines. -#}
with source as (
    {{ deduplicate(source('raw', 'jd_orders'), partition_by='order_id, sku_id', order_by=latest_loaded_first()) }}
),

status_map as (
    select * from {{ ref('order_status_map') }} where channel = 'jd'
),

sales_channels as (
    select * from {{ ref('sales_channels') }}
),

lines as (
    select
        source.*,
        'jd' as channel,
        status_map.order_status,
        coalesce(status_map.is_paid_order, false) or source.paid_at is not null as is_paid_order,
        row_number() over (partition by source.order_id order by source.sku_id) as order_line_number
    from source
    left join status_map
        on lower(status_map.source_status) = lower(source.status)
),

amounts as (
    select
        lines.*,
        case when is_paid_order then coalesce(payable_amount, 0) else 0 end as order_paid_amount
    from lines
),

refunds as (
    select
        amounts.*,
        -- The export has no refund column: a paid order that ends cancelled was refunded in full.
        case
            when is_paid_order and order_status in ('closed', 'refunded') then order_paid_amount
            else 0
        end as order_refund_amount
    from amounts
)

select
    refunds.order_id,
    refunds.sku_id,
    refunds.order_line_number,
    refunds.channel,
    sales_channels.domain,
    refunds.buyer_pin_hash,
    refunds.status as source_status,
    refunds.order_status,
    refunds.is_paid_order,
    refunds.created_at as ordered_at,
    refunds.paid_at,
    refunds.completed_at,
    refunds.item_title,
    refunds.qty,
    refunds.unit_price,
    refunds.unit_price * refunds.qty as line_amount,
    refunds.order_amount,
    refunds.payable_amount as order_payable_amount,
    refunds.settle_amount as order_settled_amount,
    refunds.freight as order_freight_amount,
    refunds.order_paid_amount,
    refunds.order_refund_amount,
    {{ refund_status('refunds.order_paid_amount', 'refunds.order_refund_amount') }} as refund_status,
    refunds.order_source,
    refunds.phone_hash,
    refunds.phone_status,
    refunds._hash_key_version,
    refunds._source_file,
    refunds._source_row,
    refunds._load_id
from refunds
left join sales_channels
    on sales_channels.channel = refunds.channel
