{#- AOV (客单价) and frequency (消费频次) of fans vs non-fans, monthly. A buyer's segment in a month
    is their fan status at the end of the month (a fan spell live at next_month_start_at, the
    same instant mart_fans_monthly counts fans_at_end); orders of unidentified buyers form their
    own segment, and its share of the month (unresolved_*, the same on the three rows of a month)
    says how much of the base the fan / non-fan comparison cannot see. Exact definitions in
    _metrics__models.yml. -#}
with months as (
    select month, next_month_start_at from {{ ref('int_calendar__months') }}
),

fans_at_end as (
    -- only the months a member bought in are asked: each buyer-month meets the buyer's own spells
    -- (joining every spell to every month it is live at made ~160M rows at 10M members)
    select distinct buyer_months.month, buyer_months.one_id
    from (
        select distinct order_month as month, one_id
        from {{ ref('fct_orders') }}
        where is_valid_order and one_id is not null
    ) as buyer_months
    join months
        on months.month = buyer_months.month
    join {{ ref('int_fans__spells') }} as spells
        on spells.one_id = buyer_months.one_id
       and {{ live_at('spells', 'months.next_month_start_at') }}
),

valid_orders as (
    select
        orders.order_month as month,
        orders.one_id,
        orders.net_amount,
        case
            when orders.one_id is null then 'unidentified'
            when fans_at_end.one_id is not null then 'fan'
            else 'non_fan'
        end as segment
    from {{ ref('fct_orders') }} as orders
    left join fans_at_end
        on fans_at_end.month = orders.order_month
       and fans_at_end.one_id = orders.one_id
    where orders.is_valid_order
),

aggregated as (
    select
        month,
        segment,
        count(distinct one_id) as buyers,
        count(*) as orders,
        sum(net_amount) as gmv
    from valid_orders
    group by month, segment
),

segments as (
    select 'fan' as segment union all select 'non_fan' union all select 'unidentified'
),

filled as (
    select
        months.month,
        segments.segment,
        case when segments.segment = 'unidentified' then null else coalesce(aggregated.buyers, 0) end as buyers,
        coalesce(aggregated.orders, 0) as orders,
        coalesce(aggregated.gmv, 0) as gmv
    from months
    cross join segments
    left join aggregated
        on aggregated.month = months.month
       and aggregated.segment = segments.segment
),

month_totals as (
    select
        month,
        sum(orders) as all_orders,
        sum(gmv) as all_gmv,
        sum(case when segment = 'unidentified' then orders else 0 end) as unresolved_orders,
        sum(case when segment = 'unidentified' then gmv else 0 end) as unresolved_gmv
    from filled
    group by month
)

select
    filled.month,
    filled.segment,
    filled.buyers,
    filled.orders,
    filled.gmv,
    {{ ratio('filled.gmv', 'filled.orders') }} as aov,
    {{ ratio('filled.orders', 'filled.buyers') }} as frequency,
    {{ ratio('filled.gmv', 'filled.buyers') }} as gmv_per_buyer,
    month_totals.all_orders,
    month_totals.all_gmv,
    month_totals.unresolved_orders,
    month_totals.unresolved_gmv,
    {{ unresolved_shares('month_totals.all_orders', 'month_totals.all_gmv', prefix='month_totals.') }},
    {{ identity_graph_column() }}
from filled
join month_totals
    on month_totals.month = filled.month
