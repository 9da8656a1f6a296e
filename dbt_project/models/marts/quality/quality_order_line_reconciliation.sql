{#- Order lines against orders, per channel and order month: what fct_order_lines sums to next
    to what fct_orders says, and the differences each export explains.
    * paid: lines carry the goods only; the order's postage or freight (Tmall 买家应付邮费, JD
      运费金额) is paid on the order and on no line, so order paid - line paid = freight paid,
      and unexplained_paid_difference must be 0 (dbt test);
    * refunds: a refund in full gives the freight back too, which no line carries (Tmall, JD), so
      order refund - line refund = freight refunded, unexplained_refund_difference 0;
    * orders_without_lines / lines_without_order: an item sheet or order report missing for an
      order (e.g. an order report row quarantined for a broken time): listed, not forced equal.
    Douyin and mini-program print freight and discounts on the lines already (0 difference); POS
    orders are built from their lines. -#}
with orders as (
    select order_key, channel, order_month, paid_amount, refund_amount
    from {{ ref('fct_orders') }}
),

freight as (
    select {{ dbt.concat(["'tmall:'", 'order_id']) }} as order_key, coalesce(postage_amount, 0) as freight_amount
    from {{ ref('stg_tmall__orders') }}
    union all
    select {{ dbt.concat(["'jd:'", 'order_id']) }} as order_key, coalesce(order_freight_amount, 0) as freight_amount
    from {{ ref('stg_jd__orders') }}
    where order_line_number = 1
),

lines as (
    select
        order_key,
        max(channel) as channel,
        max(order_month) as order_month,
        max(case when has_order then 1 else 0 end) = 1 as has_order,
        count(*) as order_lines,
        sum(paid_amount) as paid_amount,
        sum(refund_amount) as refund_amount
    from {{ ref('fct_order_lines') }}
    group by order_key
),

per_order as (
    select
        coalesce(orders.channel, lines.channel) as channel,
        coalesce(orders.order_month, lines.order_month) as order_month,
        orders.order_key is not null as has_order,
        lines.order_key is not null as has_lines,
        coalesce(lines.order_lines, 0) as order_lines,
        coalesce(orders.paid_amount, 0) as order_paid_amount,
        coalesce(lines.paid_amount, 0) as line_paid_amount,
        coalesce(orders.refund_amount, 0) as order_refund_amount,
        coalesce(lines.refund_amount, 0) as line_refund_amount,
        case when coalesce(orders.paid_amount, 0) > 0 then coalesce(freight.freight_amount, 0) else 0 end
            as freight_paid_amount,
        case when coalesce(orders.paid_amount, 0) > 0 and orders.refund_amount >= orders.paid_amount
             then coalesce(freight.freight_amount, 0) else 0 end as freight_refunded_amount
    from orders
    full outer join lines
        on lines.order_key = orders.order_key
    left join freight
        on freight.order_key = coalesce(orders.order_key, lines.order_key)
)

select
    channel,
    order_month,
    sum(case when has_order then 1 else 0 end) as orders,
    sum(case when has_order and not has_lines then 1 else 0 end) as orders_without_lines,
    sum(case when has_order and not has_lines then order_paid_amount else 0 end) as orders_without_lines_paid_amount,
    sum(case when has_lines and not has_order then order_lines else 0 end) as lines_without_order,
    sum(case when has_lines and not has_order then line_paid_amount else 0 end) as lines_without_order_paid_amount,
    sum(order_lines) as order_lines,
    sum(case when has_order and has_lines then order_paid_amount else 0 end) as order_paid_amount,
    sum(case when has_order and has_lines then line_paid_amount else 0 end) as line_paid_amount,
    sum(case when has_order and has_lines then freight_paid_amount else 0 end) as freight_paid_amount,
    sum(case when has_order and has_lines then order_paid_amount - line_paid_amount - freight_paid_amount
             else 0 end) as unexplained_paid_difference,
    sum(case when has_order and has_lines then order_refund_amount else 0 end) as order_refund_amount,
    sum(case when has_order and has_lines then line_refund_amount else 0 end) as line_refund_amount,
    sum(case when has_order and has_lines then freight_refunded_amount else 0 end) as freight_refunded_amount,
    sum(case when has_order and has_lines then order_refund_amount - line_refund_amount - freight_refunded_amount
             else 0 end) as unexplained_refund_difference
from per_order
group by channel, order_month
