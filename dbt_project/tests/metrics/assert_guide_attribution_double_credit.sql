{{ config(meta={'dagster': {'ref': {'name': 'mart_guide_attribution_monthly'}}}) }}
{#- Double credit: each credit type of mart_guide_attribution_monthly adds up, per month, to the
    GMV of the orders it covers - serving_store to orders with a serving store, owner_guide to
    orders of members with an own guide. One row per month and credit type that does not. -#}
with credited as (
    select month, credit_type, sum(gmv) as gmv
    from {{ ref('mart_guide_attribution_monthly') }}
    group by month, credit_type
),

expected as (
    select order_month as month, 'serving_store' as credit_type, sum(net_amount) as gmv
    from {{ ref('fct_orders') }}
    where serving_store_code is not null
    group by order_month
    union all
    select order_month, 'owner_guide', sum(net_amount)
    from {{ ref('fct_orders') }}
    where owner_guide_employee_no is not null
    group by order_month
)

select expected.*, credited.gmv as credited_gmv
from expected
left join credited
    on credited.month = expected.month
   and credited.credit_type = expected.credit_type
where credited.gmv is null
   or abs(credited.gmv - expected.gmv) > 0.005
