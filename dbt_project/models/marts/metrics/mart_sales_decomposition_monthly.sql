{#- Sales decomposition (销售额 = 零售情景 x 关系数 x 转化率 x 客单价), monthly by brand, store and
    guide, the rows of mart_member_wecom_friends_monthly:
        sales = reachable_members x friend_rate x conversion_rate x aov
    reachable members are the scope's CRM members at the month's end, friends those of them who
    are its WeCom friends then (加V), buyers the friends with a valid order booked in the month
    (any channel), sales those orders' net amount. Each factor is null where its denominator is
    0, and then sales is 0 (no buyer, no sales). Month over month, sales_growth is the product of
    the four factor growths. Exact definitions in _metrics__models.yml. -#}
with reach as (
    select * from {{ ref('mart_member_wecom_friends_monthly') }}
),

orders as {{ inline_cte() }} (
    select one_id, order_month, net_amount
    from {{ ref('fct_orders') }}
    where is_valid_order
      and one_id is not null
),

friend_orders as (
    select
        friends.month,
        friends.scope,
        friends.store_code,
        friends.guide_employee_no,
        count(distinct friends.one_id) as buyers,
        count(*) as orders,
        sum(orders.net_amount) as sales
    from {{ ref('int_members__friend_months') }} as friends
    join orders
        on orders.one_id = friends.one_id
       and orders.order_month = friends.month
    group by friends.month, friends.scope, friends.store_code, friends.guide_employee_no
),

factors as (
    select
        reach.month,
        reach.scope,
        reach.store_code,
        reach.guide_employee_no,
        reach.guide_userid,
        reach.members_at_end as reachable_members,
        reach.friend_members_at_end as friend_members,
        coalesce(friend_orders.buyers, 0) as buyers,
        coalesce(friend_orders.orders, 0) as orders,
        coalesce(friend_orders.sales, 0) as sales,
        reach.friend_rate,
        {{ ratio('coalesce(friend_orders.buyers, 0)', 'reach.friend_members_at_end') }} as conversion_rate,
        {{ ratio('friend_orders.sales', 'friend_orders.buyers') }} as aov
    from reach
    left join friend_orders
        on friend_orders.month = reach.month
       and friend_orders.scope = reach.scope
       and {{ null_safe_equals('friend_orders.store_code', 'reach.store_code') }}
       and {{ null_safe_equals('friend_orders.guide_employee_no', 'reach.guide_employee_no') }}
),

with_previous as (
    select
        factors.*,
        {%- for column in ['reachable_members', 'friend_rate', 'conversion_rate', 'aov', 'sales'] %}
        lag({{ column }}) over (
            partition by scope, store_code, guide_employee_no order by month
        ) as previous_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from factors
)

select
    month,
    scope,
    store_code,
    guide_employee_no,
    guide_userid,
    reachable_members,
    friend_members,
    buyers,
    orders,
    sales,
    friend_rate,
    conversion_rate,
    aov,
    previous_sales,
    sales - previous_sales as sales_change,
    {{ ratio('sales', 'previous_sales') }} as sales_growth,
    {{ ratio('reachable_members', 'previous_reachable_members') }} as reachable_members_growth,
    {{ ratio('friend_rate', 'previous_friend_rate') }} as friend_rate_growth,
    {{ ratio('conversion_rate', 'previous_conversion_rate') }} as conversion_rate_growth,
    {{ ratio('aov', 'previous_aov') }} as aov_growth,
    {{ identity_graph_column() }}
from with_previous
