{#- Repurchase rate (复购率) by brand and by channel: within the month, within the trailing twelve
    months, and N days (30, 90) after a buyer's first order. Only valid orders of identified
    members count (anonymous receipts cannot repeat): the unresolved_* columns, those of the same
    row of mart_sales_monthly, say how much of the month's orders and GMV that leaves out. Exact
    definitions in _metrics__models.yml. -#}
{%- set windows = [30, 90] -%}
{%- set scopes = [('channel', 'channel')] -%}
with months as (
    select * from {{ ref('int_calendar__months') }}
),

valid_orders as {{ inline_cte() }} (
    select order_key, one_id, channel, booked_at, order_month
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
),

scoped as {{ inline_cte() }} (
    {{ fan_out_scopes('valid_orders', scopes) }}
),

buyer_months as (
    select order_month as month, scope, scope_channel, one_id, count(*) as orders
    from scoped
    group by order_month, scope, scope_channel, one_id
),

monthly as (
    select
        month, scope, scope_channel,
        count(*) as buyers,
        sum(case when orders >= 2 then 1 else 0 end) as repeat_buyers
    from buyer_months
    group by month, scope, scope_channel
),

buyer_steps as (
    -- a buyer-month's orders enter the trailing twelve months at its month and leave twelve months
    -- later; a buyer's ttm orders only change at those months (joining every buyer-month to the
    -- twelve windows it is in spilled past the disk at 10M members)
    select scope, scope_channel, one_id, step_number, sum(orders) as orders
    from (
        select
            buyer_months.scope,
            buyer_months.scope_channel,
            buyer_months.one_id,
            months.month_number + case when ends.step = 1 then 0 else 12 end as step_number,
            buyer_months.orders * ends.step as orders
        from buyer_months
        join months
            on months.month = buyer_months.month
        cross join (select 1 as step union all select -1 as step) as ends
    ) as steps
    group by scope, scope_channel, one_id, step_number
),

buyer_ttm as (
    select
        buyer_steps.*,
        sum(orders) over (
            partition by scope, scope_channel, one_id order by step_number
            rows between unbounded preceding and current row
        ) as ttm_orders
    from buyer_steps
),

ttm_changes as (
    -- a buyer enters / leaves the ttm buyers (>= 1 order) and the repeat buyers (>= 2) at a step
    select
        scope, scope_channel, step_number,
        sum((case when ttm_orders >= 1 then 1 else 0 end) - (case when previous_orders >= 1 then 1 else 0 end)) as buyers,
        sum((case when ttm_orders >= 2 then 1 else 0 end) - (case when previous_orders >= 2 then 1 else 0 end)) as repeat_buyers
    from (
        -- the level before the step: the running sum without the step's own orders (the same as
        -- the previous row's running sum, 0 at a buyer's first step; no second window)
        select
            buyer_ttm.*,
            ttm_orders - orders as previous_orders
        from buyer_ttm
    ) as changes
    group by scope, scope_channel, step_number
),

ttm as (
    -- each month's level: the running sum of the changes up to it
    select
        months.month, ttm_changes.scope, ttm_changes.scope_channel,
        sum(ttm_changes.buyers) as ttm_buyers,
        sum(ttm_changes.repeat_buyers) as ttm_repeat_buyers
    from months
    join ttm_changes
        on ttm_changes.step_number <= months.month_number
    group by months.month, ttm_changes.scope, ttm_changes.scope_channel
),

first_two as (
    select
        scope, scope_channel, one_id,
        min(booked_at) as first_order_at,
        {{ nth_smallest('booked_at', 2) }} as second_order_at
    from scoped
    group by scope, scope_channel, one_id
),

new_buyers as (
    select
        {{ month_of('first_order_at') }} as month, scope, scope_channel,
        count(*) as new_buyers
        {%- for n in windows %},
        sum(case when second_order_at <= {{ dbt.dateadd('day', n, 'first_order_at') }} then 1 else 0 end) as repurchased_{{ n }}d
        {%- endfor %}
    from first_two
    group by {{ month_of('first_order_at') }}, scope, scope_channel
),

scope_keys as (
    {{ sales_channel_scopes() }}
),

dense as (
    select months.month, months.next_month_start_at, months.data_end_at, months.ttm_months, scope_keys.*
    from months
    cross join scope_keys
),

filled as (
    {%- set repurchased = [] %}
    {%- set complete = [] %}
    {%- for n in windows %}
        {%- do repurchased.append('repurchased_' ~ n ~ 'd') %}
        {%- set window_end = dbt.dateadd('day', n, 'dense.next_month_start_at') | trim %}
        {%- do complete.append(window_end ~ ' <= dense.data_end_at as is_' ~ n ~ 'd_complete') %}
    {%- endfor %}
    {{ fill_scopes({
        'monthly': ['buyers', 'repeat_buyers'],
        'ttm': ['ttm_buyers', 'ttm_repeat_buyers'],
        'new_buyers': ['new_buyers'] + repurchased,
    }, scopes, carry=['ttm_months'], extra_columns=complete) }}
),

measured as (
    -- the unresolved part of the row's order base, as mart_sales_monthly counts it
    select
        filled.*,
        sales.orders as all_orders,
        sales.unresolved_orders,
        sales.unresolved_order_share,
        sales.unresolved_gmv,
        sales.unresolved_gmv_share
    from filled
    left join {{ ref('mart_sales_monthly') }} as sales
        on sales.month = filled.month
       and sales.scope = filled.scope
       and {{ null_safe_equals('sales.channel', 'filled.channel') }}
)

select
    month,
    scope,
    channel,
    buyers,
    repeat_buyers,
    {{ ratio('repeat_buyers', 'buyers') }} as repurchase_rate,
    ttm_months,
    ttm_buyers,
    ttm_repeat_buyers,
    {{ ratio('ttm_repeat_buyers', 'ttm_buyers') }} as ttm_repurchase_rate,
    new_buyers
    {%- for n in windows %},
    repurchased_{{ n }}d,
    is_{{ n }}d_complete,
    case when is_{{ n }}d_complete then {{ ratio('repurchased_' ~ n ~ 'd', 'new_buyers') }} end as repurchase_rate_{{ n }}d
    {%- endfor %},
    all_orders,
    unresolved_orders,
    unresolved_order_share,
    unresolved_gmv,
    unresolved_gmv_share,
    {{ identity_graph_column() }}
from measured
