{#- Tmall item sheet at its grain: one row per sub-order (子订单), the order line of a main
    order of stg_tmall__orders. line_paid_amount (分摊后实付金额) is the line's share of the
    order's payable goods amount: Tmall allocates the order's discounts to its lines and leaves
    the postage on none, so lines sum to the order's paid amount minus postage. A gift line
    (赠品) has price and amount 0. -#}
{{ config(**incremental_by_load('tmall_order_items', unique_key='sub_order_id')) }}

with source as (
    {{ deduplicate(source('raw', 'tmall_order_items'), partition_by='sub_order_id',
                   order_by=newest_version_first('tmall_order_items'),
                   stage_again_by='sub_order_id') }}
)

select
    source.sub_order_id,
    source.order_id,
    'tmall' as channel,
    source.item_title,
    source.merchant_code,
    source.qty,
    source.unit_price,
    source.unit_price * source.qty as list_amount,
    source.line_paid_amount,
    source.refund_status as source_refund_status,
    coalesce(source.refund_amount, 0) as refund_amount,
    source.status as source_status,
    {{ lineage_columns('source', hashed=false) }},
    {{ build_id() }} as _build_id
from source
