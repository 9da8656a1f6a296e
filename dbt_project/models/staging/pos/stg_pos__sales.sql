{#- One row per POS receipt line (store x receipt x line). Returns are recognised by the
    receipt type (单据类型, through order_status_map) or by a negative quantity or amount, and
    their amounts are made negative whatever sign the store system exported. -#}
{{ config(**incremental_by_load('pos_sales', unique_key=['store_code', 'receipt_no', 'line_no'])) }}

with source as (
    {{ deduplicate(source('raw', 'pos_sales'), partition_by='store_code, receipt_no, line_no',
                   order_by=newest_version_first('pos_sales'),
                   stage_again_by='store_code, receipt_no, line_no') }}
),

receipt_lines as (
    -- the receipt type decides paid or returned, not a payment time: no is_paid_order here
    {{ with_order_status('source', 'pos', status_column='doc_type', paid_at_column=none) }}
),

lines as (
    select
        receipt_lines.*,
        coalesce(receipt_lines.order_status = 'refunded', false)
            or receipt_lines.amount < 0
            or coalesce(receipt_lines.qty < 0, false) as is_return
    from receipt_lines
)

select
    lines.store_code,
    lines.receipt_no,
    lines.line_no,
    {{ dbt.concat(['lines.store_code', "'-'", 'lines.receipt_no']) }} as receipt_id,
    lines.channel,
    lines.domain,
    lines.doc_type as source_status,
    case
        when lines.doc_type is not null then lines.order_status
        when lines.is_return then 'refunded'
        else 'completed'
    end as order_status,
    lines.is_return,
    lines.is_status_mapped,
    lines.is_status_mapped and not lines.is_return as is_paid_order,
    lines.sold_at,
    lines.sku,
    case when lines.is_return then -abs(lines.qty) else lines.qty end as qty,
    lines.unit_price,
    case
        when not lines.is_status_mapped then 0
        when lines.is_return then -abs(lines.amount)
        else lines.amount
    end as net_amount,
    case when lines.is_return or not lines.is_status_mapped then 0 else lines.amount end as paid_amount,
    case when lines.is_return and lines.is_status_mapped then abs(lines.amount) else 0 end as refund_amount,
    -- a receipt type the map does not list yet: its amount counts nowhere until it is added
    case when lines.is_status_mapped then 0 else abs(lines.amount) end as unmapped_amount,
    lines.card_no,
    lines.mobile_hash,
    lines.mobile_status,
    lines.serving_guide_id as serving_guide_employee_no,
    lines.owner_guide_id as owner_guide_employee_no,
    lines.credit_to,
    lines.cashier_id as cashier_employee_no,
    {{ lineage_columns('lines') }},
    {{ build_id() }} as _build_id
from lines
