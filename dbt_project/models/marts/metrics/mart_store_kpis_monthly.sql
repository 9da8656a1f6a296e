{#- Store KPIs, monthly, one row per store: the result (in-store POS sales + mini-program sales
    attributed to the store) and the process (cards opened, WeCom friends, store groups).
    Fans and groups come from the store rows of mart_fans_monthly and mart_groups_monthly so
    the marts agree. unresolved_*: the store's POS and mini-program orders (the store_gmv base)
    that no person stands behind. Exact definitions in _metrics__models.yml. -#}
with months as (
    select month, month_start_at, next_month_start_at from {{ ref('int_calendar__months') }}
),

stores as (
    select store_code, store_name, city, region, store_type from {{ ref('stg_master__stores') }}
),

sales as (
    select
        order_month as month,
        serving_store_code as store_code,
        sum(case when channel = 'pos' and is_valid_order then 1 else 0 end) as in_store_orders,
        sum(case when channel = 'pos' then net_amount else 0 end) as in_store_gmv,
        sum(case when channel = 'mini_program' and is_valid_order then 1 else 0 end) as mini_program_orders,
        sum(case when channel = 'mini_program' then net_amount else 0 end) as mini_program_gmv,
        {{ unresolved_order_sums() }}
    from {{ ref('fct_orders') }}
    where serving_store_code is not null
      and channel in ('pos', 'mini_program')
    group by order_month, serving_store_code
),

registrations as (
    select
        bridge.one_id,
        crm.register_store_code,
        crm.registered_at,
        row_number() over (partition by bridge.one_id order by crm.registered_at, crm.member_id) as registration_rank
    from {{ ref('stg_crm__members') }} as crm
    join {{ ref('bridge_record_member') }} as bridge {{ member_bridge_on('crm_members', 'crm') }}
    where bridge.one_id is not null
      and crm.registered_at is not null
),

cards as (
    select
        {{ month_of('registered_at') }} as month,
        register_store_code as store_code,
        count(*) as cards_opened
    from registrations
    where registration_rank = 1
      and register_store_code is not null
    group by {{ month_of('registered_at') }}, register_store_code
),

friends as (
    select
        months.month,
        relationships.store_code,
        count(*) as new_wecom_friends
    from months
    join {{ ref('fct_wecom_relationships') }} as relationships
        on relationships.started_at >= months.month_start_at
       and relationships.started_at < months.next_month_start_at
       and relationships.is_acquisition
    where relationships.store_code is not null
    group by months.month, relationships.store_code
),

store_keys as (
    select store_code from stores
    union
    select store_code from sales
)

select
    months.month,
    store_keys.store_code,
    stores.store_name,
    stores.city,
    stores.region,
    stores.store_type,
    coalesce(sales.in_store_orders, 0) as in_store_orders,
    coalesce(sales.in_store_gmv, 0) as in_store_gmv,
    coalesce(sales.mini_program_orders, 0) as mini_program_orders,
    coalesce(sales.mini_program_gmv, 0) as mini_program_gmv,
    coalesce(sales.in_store_gmv, 0) + coalesce(sales.mini_program_gmv, 0) as store_gmv,
    coalesce(sales.unresolved_orders, 0) as unresolved_orders,
    coalesce(sales.unresolved_gmv, 0) as unresolved_gmv,
    {{ unresolved_shares('sales.in_store_orders + sales.mini_program_orders', 'sales.in_store_gmv + sales.mini_program_gmv',
                         prefix='sales.') }},
    coalesce(cards.cards_opened, 0) as cards_opened,
    coalesce(friends.new_wecom_friends, 0) as new_wecom_friends,
    coalesce(fans.wecom_fans_at_end, 0) as wecom_fans_at_end,
    coalesce(fans.fans_at_end, 0) as fans_at_end,
    coalesce(group_stocks.groups_at_end, 0) as groups_at_end,
    coalesce(group_stocks.group_customers_at_end, 0) as group_customers_at_end,
    {{ identity_graph_column() }}
from months
cross join store_keys
left join stores
    on stores.store_code = store_keys.store_code
left join sales
    on sales.month = months.month and sales.store_code = store_keys.store_code
left join cards
    on cards.month = months.month and cards.store_code = store_keys.store_code
left join friends
    on friends.month = months.month and friends.store_code = store_keys.store_code
left join {{ ref('mart_fans_monthly') }} as fans
    on fans.month = months.month and fans.scope = 'store' and fans.store_code = store_keys.store_code
left join {{ ref('mart_groups_monthly') }} as group_stocks
    on group_stocks.month = months.month and group_stocks.scope = 'store' and group_stocks.store_code = store_keys.store_code
