{{ config(severity='warn') }}
{#- Refunds never exceed what was paid, and nothing is refunded on an order never paid.
    Warn only: a real export can refund postage or compensation on top of the goods. One row
    per offending order (or sub-order / order line). -#}
with orders as (
    select channel, order_id as order_key, is_paid_order, paid_amount, refund_amount
    from {{ ref('stg_tmall__orders') }}
    union all
    select channel, order_id, is_paid_order, paid_amount, refund_amount
    from {{ ref('stg_mini_program__orders') }}
    union all
    select channel, sub_order_id, is_paid_order, paid_amount, refund_amount
    from {{ ref('stg_douyin__orders') }}
    union all
    select channel, order_id, is_paid_order, order_paid_amount, order_refund_amount
    from {{ ref('stg_jd__orders') }}
    where order_line_number = 1
)

select *
from orders
where paid_amount < 0
   or refund_amount < 0
   or refund_amount > paid_amount
   or (not is_paid_order and refund_amount > 0)
