{#- Omni-channel overlap (全渠道重合), monthly over the trailing twelve months: identified buyers
    who bought online only, offline only or both, their spend and spend per buyer against
    offline-only buyers, and how much of the window's valid orders and their GMV no person stands
    behind (unresolved_*: those buyers cannot be classed). Exact definitions in
    _metrics__models.yml. -#}
with months as (
    select month, month_number, ttm_start_month, ttm_months from {{ ref('int_calendar__months') }}
),

buyer_months as (
    select
        months.month_number,
        orders.one_id,
        sum(case when orders.is_online then 1 else 0 end) as online_orders,
        sum(case when not orders.is_online then 1 else 0 end) as offline_orders,
        sum(orders.net_amount) as gmv
    from {{ ref('fct_orders') }} as orders
    join months
        on months.month = orders.order_month
    where orders.is_valid_order and orders.one_id is not null
    group by months.month_number, orders.one_id
),

buyer_steps as (
    -- a buyer-month enters the trailing twelve months at its month and leaves twelve months later
    -- (the buyer's ttm figures only change at those months: no row per buyer and month in between;
    -- joining every buyer-month to the twelve windows it is in spilled past the disk at 10M)
    select one_id, step_number, sum(online_orders) as online_orders, sum(offline_orders) as offline_orders,
           sum(gmv) as gmv
    from (
        select one_id, month_number as step_number, online_orders, offline_orders, gmv
        from buyer_months
        union all
        select one_id, month_number + 12 as step_number, -online_orders as online_orders, -offline_orders as offline_orders,
               -gmv as gmv
        from buyer_months
    ) as steps
    group by one_id, step_number
),

buyer_ttm as (
    -- the buyer's trailing-twelve-month figures from each step on, and the step's own changes
    select
        one_id,
        step_number,
        {%- for column in ['online_orders', 'offline_orders', 'gmv'] %}
        {{ column }} as step_{{ column }},
        sum({{ column }}) over (
            partition by one_id order by step_number rows between unbounded preceding and current row
        ) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from buyer_steps
),

transitions as (
    -- where a buyer's class or figures change: out of the previous class, into the new one. The
    -- figures before a step are the running sums less the step's own changes (exact: counts and
    -- decimal amounts), which is the previous step's level, 0 and no class at the first step: no
    -- second window over every buyer step
    select
        buyer_ttm.*,
        {{ overlap_class('online_orders', 'offline_orders') }} as overlap_class,
        online_orders + offline_orders as orders,
        {{ overlap_class('online_orders - step_online_orders', 'offline_orders - step_offline_orders') }}
            as previous_class,
        online_orders - step_online_orders + offline_orders - step_offline_orders as previous_orders,
        gmv - step_gmv as previous_gmv
    from buyer_ttm
),

class_steps as (
    select step_number, overlap_class, 1 as buyers, orders, gmv
    from transitions
    where overlap_class is not null
    union all
    select step_number, previous_class, -1 as buyers, -previous_orders as orders, -previous_gmv as gmv
    from transitions
    where previous_class is not null
),

class_changes as (
    select step_number, overlap_class, sum(buyers) as buyers, sum(orders) as orders, sum(gmv) as gmv
    from class_steps
    group by step_number, overlap_class
),

aggregated as (
    -- each month's level: the running sum of the changes up to it
    select
        months.month,
        class_changes.overlap_class,
        sum(class_changes.buyers) as buyers,
        sum(class_changes.orders) as orders,
        sum(class_changes.gmv) as gmv
    from months
    join class_changes
        on class_changes.step_number <= months.month_number
    group by months.month, class_changes.overlap_class
),

month_base as (
    -- every valid order of the month, resolved or not: the base the classes are drawn from
    select
        months.month_number,
        count(*) as all_orders,
        sum(orders.net_amount) as all_gmv,
        {{ unresolved_order_sums('orders') }}
    from {{ ref('fct_orders') }} as orders
    join months
        on months.month = orders.order_month
    where orders.is_valid_order
    group by months.month_number
),

window_base as (
    -- the trailing twelve months ending with each month, as the buyer steps count them
    select
        months.month,
        sum(month_base.all_orders) as all_orders,
        sum(month_base.all_gmv) as all_gmv,
        sum(month_base.unresolved_orders) as unresolved_orders,
        sum(month_base.unresolved_gmv) as unresolved_gmv
    from months
    join month_base
        on month_base.month_number > months.month_number - 12
       and month_base.month_number <= months.month_number
    group by months.month
),

classes as (
    select 'online_only' as overlap_class union all select 'offline_only' union all select 'both'
),

filled as (
    select
        months.month,
        months.ttm_months,
        classes.overlap_class,
        coalesce(aggregated.buyers, 0) as buyers,
        coalesce(aggregated.orders, 0) as orders,
        coalesce(aggregated.gmv, 0) as gmv
    from months
    cross join classes
    left join aggregated
        on aggregated.month = months.month
       and aggregated.overlap_class = classes.overlap_class
),

with_totals as (
    select
        filled.*,
        sum(filled.buyers) over (partition by filled.month) as all_buyers,
        max(case when filled.overlap_class = 'offline_only' then {{ ratio('filled.gmv', 'filled.buyers') }} end)
            over (partition by filled.month) as offline_only_gmv_per_buyer,
        coalesce(window_base.all_orders, 0) as all_orders,
        coalesce(window_base.all_gmv, 0) as all_gmv,
        coalesce(window_base.unresolved_orders, 0) as unresolved_orders,
        coalesce(window_base.unresolved_gmv, 0) as unresolved_gmv
    from filled
    left join window_base
        on window_base.month = filled.month
)

select
    month,
    ttm_months,
    overlap_class,
    buyers,
    {{ ratio('buyers', 'all_buyers') }} as buyer_share,
    orders,
    gmv,
    {{ ratio('gmv', 'buyers') }} as gmv_per_buyer,
    {{ ratio('orders', 'buyers') }} as orders_per_buyer,
    {{ ratio(ratio('gmv', 'buyers'), 'offline_only_gmv_per_buyer') }} as gmv_per_buyer_vs_offline_only,
    all_orders,
    all_gmv,
    unresolved_orders,
    unresolved_gmv,
    {{ unresolved_shares('all_orders', 'all_gmv') }},
    {{ identity_graph_column() }}
from with_totals
