{{ config(severity='warn') }}
{#- A marketplace order that was paid and then closed must have been refunded in full: Tmall,
    JD and Douyin close a paid order only after the refund. A closed, paid order with less
    refunded than paid would inflate net GMV; warn so the export can be checked. -#}
with orders as (
    select channel, order_id as order_key, order_status, is_paid_order, paid_amount, refund_amount
    from {{ ref('stg_tmall__orders') }}
    union all
    select channel, sub_order_id, order_status, is_paid_order, paid_amount, refund_amount
    from {{ ref('stg_douyin__orders') }}
    union all
    select channel, order_id, order_status, is_paid_order, order_paid_amount, order_refund_amount
    from {{ ref('stg_jd__orders') }}
    where order_line_number = 1
)

select *
from orders
where order_status = 'closed'
  and is_paid_order
  and refund_amount < paid_amount
