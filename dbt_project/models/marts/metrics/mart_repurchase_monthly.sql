{#- Repurchase rate (复购率) by brand and by channel: within the month, within the trailing twelve
    months, and N days (30, 90) after a buyer's first order. Only valid orders of identified
    members count (anonymous receipts cannot repeat). Exact definitions in _metrics__models.yml. -#}
{%- set windows = [30, 90] -%}
with months as (
    select * from {{ ref('int_calendar__months') }}
),

valid_orders as {{ inline_cte() }} (
    select order_key, one_id, channel, booked_at, order_month
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
),

scoped as {{ inline_cte() }} (
    select valid_orders.*, 'brand' as scope, {{ dbt.cast('null', dbt.type_string()) }} as scope_channel from valid_orders
    union all
    select valid_orders.*, 'channel' as scope, channel as scope_channel from valid_orders
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

buyer_ttm as (
    select months.month, buyer_months.scope, buyer_months.scope_channel, buyer_months.one_id,
           sum(buyer_months.orders) as orders
    from months
    join buyer_months
        on buyer_months.month >= months.ttm_start_month
       and buyer_months.month <= months.month
    group by months.month, buyer_months.scope, buyer_months.scope_channel, buyer_months.one_id
),

ttm as (
    select
        month, scope, scope_channel,
        count(*) as ttm_buyers,
        sum(case when orders >= 2 then 1 else 0 end) as ttm_repeat_buyers
    from buyer_ttm
    group by month, scope, scope_channel
),

sequenced as (
    select
        scoped.*,
        row_number() over (partition by scope, scope_channel, one_id order by booked_at, order_key) as order_seq
    from scoped
),

first_two as (
    select
        scope, scope_channel, one_id,
        max(case when order_seq = 1 then booked_at end) as first_order_at,
        max(case when order_seq = 2 then booked_at end) as second_order_at
    from sequenced
    where order_seq <= 2
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
    select 'brand' as scope, {{ dbt.cast('null', dbt.type_string()) }} as channel
    union all
    select 'channel' as scope, channel from {{ ref('sales_channels') }}
),

dense as (
    select months.month, months.next_month_start_at, months.data_end_at, months.ttm_months, scope_keys.*
    from months
    cross join scope_keys
),

filled as (
    select
        dense.month,
        dense.scope,
        dense.channel,
        dense.ttm_months,
        coalesce(monthly.buyers, 0) as buyers,
        coalesce(monthly.repeat_buyers, 0) as repeat_buyers,
        coalesce(ttm.ttm_buyers, 0) as ttm_buyers,
        coalesce(ttm.ttm_repeat_buyers, 0) as ttm_repeat_buyers,
        coalesce(new_buyers.new_buyers, 0) as new_buyers
        {%- for n in windows %},
        coalesce(new_buyers.repurchased_{{ n }}d, 0) as repurchased_{{ n }}d,
        {{ dbt.dateadd('day', n, 'dense.next_month_start_at') }} <= dense.data_end_at as is_{{ n }}d_complete
        {%- endfor %}
    from dense
    left join monthly
        on monthly.month = dense.month
       and monthly.scope = dense.scope
       and {{ null_safe_equals('monthly.scope_channel', 'dense.channel') }}
    left join ttm
        on ttm.month = dense.month
       and ttm.scope = dense.scope
       and {{ null_safe_equals('ttm.scope_channel', 'dense.channel') }}
    left join new_buyers
        on new_buyers.month = dense.month
       and new_buyers.scope = dense.scope
       and {{ null_safe_equals('new_buyers.scope_channel', 'dense.channel') }}
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
    {%- endfor %}
from filled
