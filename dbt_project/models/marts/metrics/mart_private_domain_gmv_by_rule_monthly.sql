{#- Private-domain GMV (私域流水) broken down by the rule that credited it, monthly by brand and
    by channel (the scopes of mart_sales_monthly): one row per month x scope x rule of
    macros/metrics/private_domain_rules.sql (fct_orders.private_domain_rule, the first rule an
    order meets), zeros where a rule credited nothing. The rules of a row's month and scope add
    up to mart_sales_monthly.private_domain_gmv (test assert_private_domain_rules_reconcile).
    Exact definitions in _metrics__models.yml. -#}
{%- set scopes = [('channel', 'channel')] -%}
with orders as {{ inline_cte() }} (
    select order_month, channel, private_domain_rule, is_valid_order, net_amount
    from {{ ref('fct_orders') }}
    where private_domain_rule is not null
),

scoped as (
    {{ fan_out_scopes('orders', scopes) }}
),

aggregated as (
    select
        order_month as month,
        scope,
        scope_channel,
        private_domain_rule,
        sum(case when is_valid_order then 1 else 0 end) as orders,
        sum(net_amount) as gmv
    from scoped
    group by order_month, scope, scope_channel, private_domain_rule
),

scope_keys as (
    {{ sales_channel_scopes(['domain']) }}
),

rules as (
    {{ private_domain_rule_rows() }}
),

dense as (
    select months.month, scope_keys.scope, scope_keys.scope_channel, scope_keys.domain, rules.private_domain_rule
    from {{ ref('int_calendar__months') }} as months
    cross join scope_keys
    cross join rules
),

filled as (
    select
        dense.month,
        dense.scope,
        dense.scope_channel as channel,
        dense.domain,
        dense.private_domain_rule,
        coalesce(aggregated.orders, 0) as orders,
        coalesce(aggregated.gmv, 0) as gmv
    from dense
    left join aggregated
        on aggregated.month = dense.month
       and aggregated.scope = dense.scope
       and {{ null_safe_equals('aggregated.scope_channel', 'dense.scope_channel') }}
       and aggregated.private_domain_rule = dense.private_domain_rule
),

totals as (
    select
        filled.*,
        sum(gmv) over (partition by month, scope, channel) as private_domain_gmv
    from filled
)

select
    month,
    scope,
    channel,
    domain,
    private_domain_rule,
    orders,
    gmv,
    private_domain_gmv,
    {{ ratio('gmv', 'private_domain_gmv') }} as share_of_private_domain_gmv,
    {{ identity_graph_column() }}
from totals
