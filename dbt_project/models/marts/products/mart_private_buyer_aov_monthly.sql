{#- AOV lift of private-domain buyers (私域用户客单价提升), per order month and channel: valid orders
    of identified members split by whether the member is a private-domain buyer (placed at
    least one private-domain order, fct_orders.is_private_domain, at any time in the data) or
    not, with AOV (net amount / valid orders) and the lift of private-domain buyers' AOV over the
    other members' in the same month and channel (aov / other members' aov - 1). Anonymous
    orders (walk-in receipts, unresolved buyers) are left out: no buyer to classify. -#}
with orders as (
    select order_key, order_month, channel, one_id, net_amount, is_private_domain
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
),

private_buyers as (
    select distinct one_id from orders where is_private_domain
),

grouped as (
    select
        orders.order_month,
        orders.channel,
        private_buyers.one_id is not null as is_private_domain_buyer,
        count(*) as orders,
        count(distinct orders.one_id) as buyers,
        sum(orders.net_amount) as net_amount
    from orders
    left join private_buyers
        on private_buyers.one_id = orders.one_id
    group by orders.order_month, orders.channel, private_buyers.one_id is not null
),

with_aov as (
    select grouped.*, {{ ratio('net_amount', 'orders') }} as aov
    from grouped
)

select
    with_aov.order_month,
    with_aov.channel,
    with_aov.is_private_domain_buyer,
    with_aov.orders,
    with_aov.buyers,
    with_aov.net_amount,
    with_aov.aov,
    {{ ratio('with_aov.aov', 'others.aov') }} - 1 as aov_lift_vs_other_members
from with_aov
left join with_aov as others
    on others.order_month = with_aov.order_month
   and others.channel = with_aov.channel
   and not others.is_private_domain_buyer
