{#- Mini-program order lines at the API's grain: one row per order and line number. Pulled by
    update time like the orders, so a line in flight at a month's end comes again, in its final
    state, in the next month's file: the latest update wins. Amounts arrive in fen and land in
    CNY; pay_fee is the line's share of the order's pay_fee (discounts allocated to lines). -#}
{{ config(**incremental_by_load('mp_order_items', unique_key=['order_id', 'line_number'])) }}

with source as (
    {{ deduplicate(source('raw', 'mp_order_items'),
                   partition_by='order_no, item_no',
                   order_by=newest_version_first('mp_order_items'),
                   stage_again_by='order_no, item_no', staged_as='order_id, line_number') }}
)

select
    source.order_no as order_id,
    source.item_no as line_number,
    'mini_program' as channel,
    source.goods_code as merchant_code,
    source.goods_name as item_title,
    source.qty,
    source.unit_price,
    source.total_amount as list_amount,
    source.discount_amount,
    source.paid_amount as line_paid_amount,
    coalesce(source.refund_amount, 0) as refund_amount,
    source.updated_at,
    {{ lineage_columns('source', hashed=false) }},
    {{ build_id() }} as _build_id
from source
