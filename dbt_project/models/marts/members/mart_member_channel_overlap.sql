{#- One row per member with at least one valid order: where they buy (online channels: Tmall,
    JD, Douyin, mini-program; offline: store POS), over every order in the data, and their
    omni-channel class. Exact definitions in _members__models.yml. -#}
with per_member as (
    select
        one_id,
        sum(case when is_online then 1 else 0 end) as online_orders,
        sum(case when not is_online then 1 else 0 end) as offline_orders,
        sum(case when is_online then net_amount else 0 end) as online_gmv,
        sum(case when not is_online then net_amount else 0 end) as offline_gmv,
        count(distinct channel) as channels,
        min(booked_at) as first_order_at,
        max(booked_at) as last_order_at
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
    group by one_id
)

select
    per_member.one_id,
    per_member.online_orders,
    per_member.offline_orders,
    per_member.online_orders + per_member.offline_orders as orders,
    per_member.online_gmv,
    per_member.offline_gmv,
    per_member.online_gmv + per_member.offline_gmv as gmv,
    per_member.channels,
    per_member.first_order_at,
    per_member.last_order_at,
    case
        when per_member.online_orders > 0 and per_member.offline_orders > 0 then 'both'
        when per_member.online_orders > 0 then 'online_only'
        else 'offline_only'
    end as overlap_class,
    members.fan_status,
    members.home_store_code,
    {{ identity_graph_column() }}
from per_member
left join {{ ref('dim_member') }} as members
    on members.one_id = per_member.one_id
