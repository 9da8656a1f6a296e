{#- Acquisition QQC per source channel and WeCom state code (渠道活码), by acquisition month:
    quantity (fans acquired), quality (their GMV and repurchase in the 90 days after the add)
    and cost (spend per fan). Exact definitions in _metrics__models.yml. -#}
with months as (
    select month, month_start_at, next_month_start_at, data_end_at from {{ ref('int_calendar__months') }}
),

acquired_spells as (
    select
        months.month,
        relationships.acquisition_channel,
        relationships.state_code,
        coalesce(relationships.one_id, {{ dbt.concat(["'wecom:'", 'relationships.external_userid']) }}) as fan_key,
        relationships.one_id,
        relationships.started_at
    from months
    join {{ ref('fct_wecom_relationships') }} as relationships
        on relationships.started_at >= months.month_start_at
       and relationships.started_at < months.next_month_start_at
       and relationships.is_acquisition
),

acquired as (
    select month, acquisition_channel, state_code, fan_key, max(one_id) as one_id, min(started_at) as acquired_at
    from acquired_spells
    group by month, acquisition_channel, state_code, fan_key
),

fan_quality as (
    select
        acquired.month,
        acquired.acquisition_channel,
        acquired.state_code,
        acquired.fan_key,
        coalesce(sum(orders.net_amount), 0) as gmv_90d,
        sum(case when orders.is_valid_order then 1 else 0 end) as valid_orders_90d
    from acquired
    left join {{ ref('fct_orders') }} as orders
        on orders.one_id = acquired.one_id
       and orders.booked_at >= acquired.acquired_at
       and orders.booked_at < {{ dbt.dateadd('day', 90, 'acquired.acquired_at') }}
    group by acquired.month, acquired.acquisition_channel, acquired.state_code, acquired.fan_key
),

quality as (
    select
        month, acquisition_channel, state_code,
        count(*) as acquired_fans,
        sum(gmv_90d) as gmv_90d,
        sum(case when valid_orders_90d >= 1 then 1 else 0 end) as buyers_90d,
        sum(case when valid_orders_90d >= 2 then 1 else 0 end) as repeat_buyers_90d
    from fan_quality
    group by month, acquisition_channel, state_code
),

state_channels as (
    select distinct state_code, acquisition_channel
    from {{ ref('fct_wecom_relationships') }}
    where state_code is not null
),

spend as (
    select
        spend.spend_month as month,
        case
            when spend.state_code is null then spend.spend_channel
            else coalesce(state_channels.acquisition_channel, spend.spend_channel)
        end as acquisition_channel,
        spend.state_code,
        sum(spend.spend_amount) as spend_amount
    from {{ ref('fct_marketing_spend') }} as spend
    left join state_channels
        on state_channels.state_code = spend.state_code
    -- by position: the case expression is written once
    group by 1, 2, 3  -- noqa: AM06
),

keys as (
    select month, acquisition_channel, state_code from quality
    union
    select spend.month, spend.acquisition_channel, spend.state_code
    from spend
    join months on months.month = spend.month
),

filled as (
    select
        keys.month,
        keys.acquisition_channel,
        keys.state_code,
        coalesce(quality.acquired_fans, 0) as acquired_fans,
        coalesce(spend.spend_amount, 0) as spend_amount,
        coalesce(quality.gmv_90d, 0) as gmv_90d,
        coalesce(quality.buyers_90d, 0) as buyers_90d,
        coalesce(quality.repeat_buyers_90d, 0) as repeat_buyers_90d,
        {{ dbt.dateadd('day', 90, 'months.next_month_start_at') }} <= months.data_end_at as is_90d_complete
    from keys
    join months
        on months.month = keys.month
    left join quality
        on quality.month = keys.month
       and quality.acquisition_channel = keys.acquisition_channel
       and {{ null_safe_equals('quality.state_code', 'keys.state_code') }}
    left join spend
        on spend.month = keys.month
       and spend.acquisition_channel = keys.acquisition_channel
       and {{ null_safe_equals('spend.state_code', 'keys.state_code') }}
)

select
    month,
    acquisition_channel,
    state_code,
    acquired_fans,
    spend_amount,
    {{ ratio('spend_amount', 'acquired_fans') }} as cost_per_fan,
    gmv_90d,
    buyers_90d,
    repeat_buyers_90d,
    {{ ratio('gmv_90d', 'acquired_fans') }} as gmv_per_fan_90d,
    {{ ratio('buyers_90d', 'acquired_fans') }} as conversion_rate_90d,
    {{ ratio('repeat_buyers_90d', 'buyers_90d') }} as repurchase_rate_90d,
    {{ ratio('gmv_90d', 'spend_amount') }} as roi_90d,
    is_90d_complete,
    {{ identity_graph_column() }}
from filled
