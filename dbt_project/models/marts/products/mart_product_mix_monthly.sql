{#- Product mix (商品结构) per order month, channel, private vs public domain and category: what
    the lines of each channel sold, so the private domain's mix (the seed's "私域商品结构") can be
    set beside the marketplaces' and the stores'. Lines of paid orders and of POS return
    receipts count (net of refunds, a return negative); unmapped products fall in category
    'unmapped' (quality_unmapped_products lists them). share_of_net_amount is the category's
    share of its channel, month and domain's net. -#}
with lines as (
    select
        order_month,
        channel,
        domain,
        is_private_domain,
        coalesce(category, 'unmapped') as category,
        order_key,
        one_id,
        is_valid_order,
        qty,
        net_amount
    from {{ ref('fct_order_lines') }}
    where has_order and (paid_amount > 0 or refund_amount > 0)
),

mix as (
    select
        order_month,
        channel,
        max(domain) as domain,
        is_private_domain,
        category,
        count(*) as order_lines,
        count(distinct case when is_valid_order then order_key end) as orders,
        count(distinct case when is_valid_order then one_id end) as buyers,
        sum(qty) as qty,
        sum(net_amount) as net_amount
    from lines
    group by order_month, channel, is_private_domain, category
)

select
    mix.*,
    {{ ratio('mix.net_amount',
             'sum(mix.net_amount) over (partition by mix.order_month, mix.channel, mix.is_private_domain)') }}
        as share_of_net_amount
from mix
