{#- One row per order of every selling channel, at order grain, with the member (one_id) it
    resolves to. Each channel's export grain is rolled up here:
    * Tmall, mini-program: one staging row per order already;
    * JD: one row per order x SKU with the order-level amounts repeated on every line: the
      amounts, status and payment come from the first line only (order_line_number = 1);
    * Douyin: one row per sub-order with its own amounts: summed per main order; the status is
      the first sub-order's (Douyin prints the main order's status on every sub-order);
    * POS: one row per receipt line: rolled up to the receipt (store_code-receipt_no); a return
      receipt (every line a return) is a row of its own with paid 0 and the refund in
      refund_amount, as stores issue it.
    A status the order-status map does not list yet (stg_*: is_status_mapped false) counts in
    no money column: its amount is in unmapped_amount and has_unmapped_status is true (for a
    rolled-up order: on any line).
    one_id comes from identity.bridge_record_member at the grain the bridge knows (JD per
    order x SKU, POS per line): any resolved line gives the order's member.
    Incremental by change on DuckDB (macros/incremental_by_change.sql): a nightly restages the orders
    with a staging row or a bridge record written by a build it has not consumed yet. -#}
{{ config(**incremental_by_order(
    [('stg_tmall__orders', 'tmall', 'order_id'), ('stg_mini_program__orders', 'mini_program', 'order_id'),
     ('stg_jd__orders', 'jd', 'order_id'), ('stg_douyin__orders', 'douyin', 'order_id'),
     ('stg_pos__sales', 'pos', 'receipt_id')], also=['bridge_record_member'])) }}
{%- set string = dbt.type_string() -%}
with bridge as (
    select source_table, record_key, one_id
    from {{ ref('bridge_record_member') }}
    where one_id is not null
),
{%- if is_incremental() %}

bridge_changes as (
    select bridge_rows.source_table, bridge_rows.record_key
    from {{ ref('bridge_record_member') }} as bridge_rows
    where {{ unconsumed(ref('bridge_record_member'), 'bridge_rows') }}
),
{%- endif %}

tmall as (
    select
        'tmall' as channel,
        {{ order_grain_columns('orders') }},
        cast(orders.item_qty as {{ dbt.type_bigint() }}) as item_qty,
        cast(null as {{ string }}) as store_code,
        cast(null as {{ string }}) as serving_guide_employee_no,
        cast(null as {{ string }}) as coupon_code,
        1 as source_records,
        bridge.one_id
    from {{ order_rows('stg_tmall__orders', 'tmall_orders', 'order_id') }} as orders
    left join bridge {{ member_bridge_on('tmall_orders', 'orders') }}
),

mini_program as (
    select
        'mini_program' as channel,
        {{ order_grain_columns('orders') }},
        cast(orders.item_count as {{ dbt.type_bigint() }}) as item_qty,
        orders.store_code,
        orders.guide_employee_no as serving_guide_employee_no,
        nullif(trim(orders.coupon_code), '') as coupon_code,
        1 as source_records,
        bridge.one_id
    from {{ order_rows('stg_mini_program__orders', 'mp_orders', 'order_id') }} as orders
    left join bridge {{ member_bridge_on('mp_orders', 'orders') }}
),

jd_lines as (
    select lines.*, bridge.one_id
    from {{ order_rows('stg_jd__orders', 'jd_orders', 'order_id') }} as lines
    left join bridge {{ member_bridge_on('jd_orders', 'lines') }}
),

jd as (
    {{ order_from_lines('jd', 'jd_lines', first_line='order_line_number = 1',
                        is_paid='order_line_number = 1 and is_paid_order',
                        paid_amount='case when order_line_number = 1 then order_paid_amount else 0 end',
                        refund_amount='case when order_line_number = 1 then order_refund_amount else 0 end',
                        unmapped_amount='case when order_line_number = 1 then order_unmapped_amount else 0 end') }}
),

douyin_sub_orders as (
    select
        sub_orders.*,
        bridge.one_id,
        row_number() over (partition by sub_orders.order_id order by sub_orders.sub_order_id) as sub_order_rank
    from {{ order_rows('stg_douyin__orders', 'douyin_orders', 'order_id') }} as sub_orders
    left join bridge {{ member_bridge_on('douyin_orders', 'sub_orders') }}
),

douyin as (
    {{ order_from_lines('douyin', 'douyin_sub_orders', first_line='sub_order_rank = 1') }}
),

pos_lines as (
    select lines.*, bridge.one_id
    from {{ order_rows('stg_pos__sales', 'pos_sales', 'receipt_id') }} as lines
    left join bridge {{ member_bridge_on('pos_sales', 'lines') }}
),

pos as (
    select
        'pos' as channel,
        max(domain) as domain,
        receipt_id as order_id,
        max(source_status) as source_status,
        case
            when min(case when is_status_mapped then 0 else 1 end) = 1 then 'unknown'
            when min(case when is_return then 1 else 0 end) = 1 then 'refunded'
            else 'completed'
        end as order_status,
        max(case when is_paid_order then 1 else 0 end) = 1 as is_paid,
        min(case when is_return then 1 else 0 end) = 1 as is_return,
        min(sold_at) as ordered_at,
        min(sold_at) as paid_at,
        sum(paid_amount) as paid_amount,
        sum(refund_amount) as refund_amount,
        sum(unmapped_amount) as unmapped_amount,
        max(case when is_status_mapped then 0 else 1 end) = 1 as has_unmapped_status,
        cast(sum(qty) as {{ dbt.type_bigint() }}) as item_qty,
        max(store_code) as store_code,
        max(serving_guide_employee_no) as serving_guide_employee_no,
        cast(null as {{ string }}) as coupon_code,
        count(*) as source_records,
        max(one_id) as one_id
    from pos_lines
    group by receipt_id
),

unioned as (
    select * from tmall
    union all
    select * from mini_program
    union all
    select * from jd
    union all
    select * from douyin
    union all
    select * from pos
)

select
    {{ dbt.concat(['channel', "':'", 'order_id']) }} as order_key,
    unioned.*,
    -- the instant an order is booked: its payment, or its creation when it was never paid
    coalesce(paid_at, ordered_at) as booked_at,
    {{ build_id() }} as _build_id
from unioned
