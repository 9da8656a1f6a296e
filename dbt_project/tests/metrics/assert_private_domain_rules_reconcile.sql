{{ config(meta={'dagster': {'ref': {'name': 'mart_private_domain_gmv_by_rule_monthly'}}}) }}
{#- The private-domain rules partition private-domain GMV: per month and scope (brand, each
    channel) the rule rows of mart_private_domain_gmv_by_rule_monthly add up exactly to
    mart_sales_monthly.private_domain_gmv, and every row of the sales mart has its rules. One
    row per month and scope that does not. -#}
with by_rule as (
    select month, scope, channel, sum(gmv) as gmv, count(*) as rules
    from {{ ref('mart_private_domain_gmv_by_rule_monthly') }}
    group by month, scope, channel
),

sales as (
    select month, scope, channel, private_domain_gmv
    from {{ ref('mart_sales_monthly') }}
)

select
    sales.month,
    sales.scope,
    sales.channel,
    sales.private_domain_gmv,
    by_rule.gmv as rules_gmv
from sales
left join by_rule
    on by_rule.month = sales.month
   and by_rule.scope = sales.scope
   and {{ null_safe_equals('by_rule.channel', 'sales.channel') }}
where by_rule.month is null
   or by_rule.gmv <> sales.private_domain_gmv
