{{ config(meta={'dagster': {'ref': {'name': 'mart_sales_monthly'}}}) }}
{#- The brand row of mart_sales_monthly is the sum of its channel rows, and both equal
    fct_orders: GMV, private-domain GMV and orders per month. One row per month that does not. -#}
with channels as (
    select month, sum(gmv) as gmv, sum(private_domain_gmv) as private_domain_gmv, sum(orders) as orders
    from {{ ref('mart_sales_monthly') }}
    where scope = 'channel'
    group by month
),

brand as (
    select month, gmv, private_domain_gmv, orders
    from {{ ref('mart_sales_monthly') }}
    where scope = 'brand'
),

facts as (
    select
        order_month as month,
        sum(net_amount) as gmv,
        sum(case when is_private_domain then net_amount else 0 end) as private_domain_gmv,
        sum(case when is_valid_order then 1 else 0 end) as orders
    from {{ ref('fct_orders') }}
    group by order_month
)

select brand.month, brand.gmv, channels.gmv as channel_gmv, facts.gmv as fact_gmv
from brand
left join channels on channels.month = brand.month
left join facts on facts.month = brand.month
where abs(brand.gmv - channels.gmv) > 0.005
   or abs(brand.gmv - coalesce(facts.gmv, 0)) > 0.005
   or abs(brand.private_domain_gmv - channels.private_domain_gmv) > 0.005
   or abs(brand.private_domain_gmv - coalesce(facts.private_domain_gmv, 0)) > 0.005
   or brand.orders <> channels.orders
   or brand.orders <> coalesce(facts.orders, 0)
