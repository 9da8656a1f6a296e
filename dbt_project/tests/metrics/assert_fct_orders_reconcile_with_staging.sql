{{ config(meta={'dagster': {'ref': {'name': 'fct_orders'}}}) }}
{#- fct_orders holds every order of every channel exactly once, with the staging amounts: per
    channel, the order count and the paid and refunded totals equal the staging models' at
    their own grain (JD order amounts once per order, Douyin sub-orders summed, POS lines summed
    per receipt). One row per channel that does not reconcile; a channel the brand does not
    have (no staged orders) needs no fact rows. -#}
with staged as (
    select 'tmall' as channel, count(*) as orders, sum(paid_amount) as paid, sum(refund_amount) as refunded
    from {{ ref('stg_tmall__orders') }}
    union all
    select 'mini_program', count(*), sum(paid_amount), sum(refund_amount)
    from {{ ref('stg_mini_program__orders') }}
    union all
    select 'jd', count(*), sum(order_paid_amount), sum(order_refund_amount)
    from {{ ref('stg_jd__orders') }}
    where order_line_number = 1
    union all
    select 'douyin', count(distinct order_id), sum(paid_amount), sum(refund_amount)
    from {{ ref('stg_douyin__orders') }}
    union all
    select 'pos', count(distinct receipt_id), sum(paid_amount), sum(refund_amount)
    from {{ ref('stg_pos__sales') }}
),

facts as (
    select channel, count(*) as orders, sum(paid_amount) as paid, sum(refund_amount) as refunded
    from {{ ref('fct_orders') }}
    group by channel
)

select staged.*, facts.orders as fact_orders, facts.paid as fact_paid, facts.refunded as fact_refunded
from staged
left join facts
    on facts.channel = staged.channel
where (facts.channel is null and staged.orders > 0)
   or facts.orders <> staged.orders
   or abs(facts.paid - staged.paid) > 0.005
   or abs(facts.refunded - staged.refunded) > 0.005
