{#- Per-fan monthly and yearly contribution (单粉月/年贡献) of the brand: private-domain GMV over
    average fans, for the month and for the ttm twelve months, with the unresolved part of the
    month's orders and GMV (brand row of mart_sales_monthly): unresolved orders can be neither
    WeCom-attributed nor counted as a fan's. Reads the brand rows of
    mart_sales_monthly and mart_fans_monthly so the three marts always agree. -#}
with months as (
    select month, ttm_start_month, ttm_months from {{ ref('int_calendar__months') }}
),

monthly as (
    select
        sales.month,
        sales.gmv,
        sales.private_domain_gmv,
        sales.orders,
        sales.unresolved_orders,
        sales.unresolved_order_share,
        sales.unresolved_gmv,
        sales.unresolved_gmv_share,
        fans.fans_at_start,
        fans.fans_at_end,
        fans.average_fans
    from {{ ref('mart_sales_monthly') }} as sales
    join {{ ref('mart_fans_monthly') }} as fans
        on fans.month = sales.month
       and fans.scope = 'brand'
    where sales.scope = 'brand'
),

ttm as (
    select
        months.month,
        months.ttm_months,
        sum(monthly.private_domain_gmv) as ttm_private_domain_gmv,
        avg(monthly.average_fans) as ttm_average_fans
    from months
    join monthly
        on monthly.month >= months.ttm_start_month
       and monthly.month <= months.month
    group by months.month, months.ttm_months
)

select
    monthly.month,
    monthly.gmv,
    monthly.private_domain_gmv,
    monthly.fans_at_start,
    monthly.fans_at_end,
    monthly.average_fans,
    {{ ratio('monthly.private_domain_gmv', 'monthly.average_fans') }} as per_fan_monthly_contribution,
    ttm.ttm_months,
    ttm.ttm_private_domain_gmv,
    ttm.ttm_average_fans,
    {{ ratio('ttm.ttm_private_domain_gmv', 'ttm.ttm_average_fans') }} as per_fan_yearly_contribution,
    monthly.orders,
    monthly.unresolved_orders,
    monthly.unresolved_order_share,
    monthly.unresolved_gmv,
    monthly.unresolved_gmv_share,
    {{ identity_graph_column() }}
from monthly
join ttm
    on ttm.month = monthly.month
