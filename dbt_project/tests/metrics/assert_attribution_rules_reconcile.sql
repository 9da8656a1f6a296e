{{ config(meta={'dagster': {'ref': {'name': 'mart_private_domain_attribution_rules_monthly'}}}) }}
{#- The attribution rules side by side agree with today's figures: per month, the
    friend_at_order row's attributed GMV equals the wecom_guide_friend rule of
    mart_private_domain_gmv_by_rule_monthly (brand) and its private-domain GMV equals
    mart_sales_monthly's (brand); the window rules, which narrow today's, never credit more.
    One row per month and rule that does not. -#}
with rules as (
    select * from {{ ref('mart_private_domain_attribution_rules_monthly') }}
),

by_rule as (
    select month, gmv from {{ ref('mart_private_domain_gmv_by_rule_monthly') }}
    where scope = 'brand' and private_domain_rule = 'wecom_guide_friend'
),

sales as (
    select month, private_domain_gmv from {{ ref('mart_sales_monthly') }} where scope = 'brand'
),

baseline as (
    select month, attributed_orders, attributed_gmv from rules where attribution_rule = 'friend_at_order'
)

select rules.month, rules.attribution_rule, rules.attributed_gmv, rules.private_domain_gmv
from rules
join baseline
    on baseline.month = rules.month
left join by_rule
    on by_rule.month = rules.month
left join sales
    on sales.month = rules.month
where (rules.attribution_rule = 'friend_at_order'
       and (rules.attributed_gmv <> coalesce(by_rule.gmv, 0)
            or rules.private_domain_gmv <> coalesce(sales.private_domain_gmv, 0)))
   or rules.attributed_orders > baseline.attributed_orders
