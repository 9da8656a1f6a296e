{#- Private-domain attribution rules side by side (私域归属口径对比), monthly for the brand: one
    row per month x attribution rule of int_orders__attribution_windows (friend_at_order, today's
    rule; friend_added_within_window; guide_chat_within_window, with its window in days). For
    each rule, the orders it credits to the private domain through a guide - those outside the
    private channel (the mini-program is credited by its own rule first, as in
    macros/metrics/private_domain_rules.sql) - and the private-domain GMV and share the brand
    would report with it: mini-program GMV + the rule's GMV. The friend_at_order row equals
    mart_private_domain_gmv_by_rule_monthly's wecom_guide_friend rule and mart_sales_monthly's
    private-domain GMV (test assert_attribution_rules_reconcile). -#}
{%- set rules = [
    ('friend_at_order', 'is_friend_at_order', none),
    ('friend_added_within_window', 'is_friend_added_within_window', var('attribution_add_window_days') | int),
    ('guide_chat_within_window', 'is_guide_chat_within_window', var('attribution_chat_window_days') | int),
] -%}
with months as (
    select month from {{ ref('int_calendar__months') }}
),

candidates as (
    select * from {{ ref('int_orders__attribution_windows') }}
    where domain <> 'private'
),

attributed as (
    {%- for rule, flag, days in rules %}
    select
        order_month as month,
        '{{ rule }}' as attribution_rule,
        sum(case when is_valid_order then 1 else 0 end) as attributed_orders,
        sum(net_amount) as attributed_gmv,
        count(distinct case when is_valid_order then serving_guide_userid end) as credited_guides,
        count(distinct case when is_valid_order then one_id end) as attributed_buyers
    from candidates
    where {{ flag }}
    group by order_month
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

rule_rows as (
    {%- for rule, _, days in rules %}
    select
        {{ dbt.cast("'" ~ rule ~ "'", dbt.type_string()) }} as attribution_rule,
        {{ dbt.cast(days if days is not none else 'null', dbt.type_int()) }} as window_days
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

brand as (
    select
        order_month as month,
        sum(net_amount) as gmv,
        sum(case when domain = 'private' then net_amount else 0 end) as private_channel_gmv
    from {{ ref('fct_orders') }}
    group by order_month
),

filled as (
    select
        months.month,
        rule_rows.attribution_rule,
        rule_rows.window_days,
        coalesce(attributed.attributed_orders, 0) as attributed_orders,
        coalesce(attributed.attributed_gmv, 0) as attributed_gmv,
        coalesce(attributed.credited_guides, 0) as credited_guides,
        coalesce(attributed.attributed_buyers, 0) as attributed_buyers,
        coalesce(brand.private_channel_gmv, 0) as private_channel_gmv,
        coalesce(brand.gmv, 0) as gmv
    from months
    cross join rule_rows
    left join attributed
        on attributed.month = months.month
       and attributed.attribution_rule = rule_rows.attribution_rule
    left join brand
        on brand.month = months.month
),

with_baseline as (
    select
        filled.*,
        filled.private_channel_gmv + filled.attributed_gmv as private_domain_gmv,
        max(case when attribution_rule = 'friend_at_order' then attributed_gmv end) over (
            partition by month
        ) as friend_at_order_gmv
    from filled
)

select
    month,
    attribution_rule,
    window_days,
    attributed_orders,
    attributed_gmv,
    credited_guides,
    attributed_buyers,
    private_channel_gmv,
    private_domain_gmv,
    gmv,
    {{ ratio('private_domain_gmv', 'gmv') }} as private_domain_share,
    {{ ratio('attributed_gmv', 'friend_at_order_gmv') }} as attributed_gmv_vs_friend_at_order,
    {{ identity_graph_column() }}
from with_baseline
