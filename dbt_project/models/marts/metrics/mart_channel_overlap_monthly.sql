{#- Omni-channel overlap (全渠道重合), monthly over the trailing twelve months: identified buyers
    who bought online only, offline only or both, their spend and spend per buyer against
    offline-only buyers. Exact definitions in _metrics__models.yml. -#}
with months as (
    select month, ttm_start_month, ttm_months from {{ ref('int_calendar__months') }}
),

buyer_months as (
    select
        order_month as month,
        one_id,
        sum(case when is_online then 1 else 0 end) as online_orders,
        sum(case when not is_online then 1 else 0 end) as offline_orders,
        sum(net_amount) as gmv
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
    group by order_month, one_id
),

buyer_ttm as (
    select
        months.month,
        buyer_months.one_id,
        sum(buyer_months.online_orders) as online_orders,
        sum(buyer_months.offline_orders) as offline_orders,
        sum(buyer_months.gmv) as gmv
    from months
    join buyer_months
        on buyer_months.month >= months.ttm_start_month
       and buyer_months.month <= months.month
    group by months.month, buyer_months.one_id
),

classified as (
    select
        buyer_ttm.*,
        case
            when online_orders > 0 and offline_orders > 0 then 'both'
            when online_orders > 0 then 'online_only'
            else 'offline_only'
        end as overlap_class
    from buyer_ttm
),

aggregated as (
    select
        month,
        overlap_class,
        count(*) as buyers,
        sum(online_orders + offline_orders) as orders,
        sum(gmv) as gmv
    from classified
    group by month, overlap_class
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
        sum(buyers) over (partition by month) as all_buyers,
        max(case when overlap_class = 'offline_only' then {{ ratio('gmv', 'buyers') }} end) over (partition by month)
            as offline_only_gmv_per_buyer
    from filled
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
    {{ ratio(ratio('gmv', 'buyers'), 'offline_only_gmv_per_buyer') }} as gmv_per_buyer_vs_offline_only
from with_totals
