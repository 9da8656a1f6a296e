{#- One row per member (one_id) x computed tag group: the tag the warehouse computes from the
    marts, one value per group, with the rule and its version from seed computed_tag_rules (the
    rule text there is the definition; bump rule_version there when the SQL of a group changes,
    so an audience built on the old rule can be told apart). Groups a member has no value for
    (a prospect has no RFM class) have no row. -#}
with rfm as {{ inline_cte() }} (
    select one_id, rfm_class, lifecycle_stage from {{ ref('mart_member_rfm_lifecycle') }}
),

members as {{ inline_cte() }} (
    select one_id, fan_status, member_level from {{ ref('dim_member') }}
),

channel_orders as (
    select
        one_id,
        channel,
        count(*) as valid_orders,
        max(booked_at) as last_booked_at,
        count(*) over (partition by one_id) as member_channels
    from {{ ref('fct_orders') }}
    where one_id is not null and is_valid_order
    group by one_id, channel
),

top_channel as (
    select
        one_id,
        channel,
        member_channels,
        row_number() over (partition by one_id order by valid_orders desc, last_booked_at desc, channel asc) as channel_rank
    from channel_orders
),

category_spend as (
    select one_id, category, sum(paid_amount) as paid_amount, count(*) as lines
    from {{ ref('fct_order_lines') }}
    where one_id is not null and is_valid_order and category is not null
    group by one_id, category
),

top_category as (
    select
        one_id,
        category,
        row_number() over (partition by one_id order by paid_amount desc, lines desc, category asc) as category_rank
    from category_spend
),

values_by_group as (
    select one_id, 'rfm_class' as tag_group, rfm_class as tag_name from rfm where rfm_class is not null
    union all
    select one_id, 'lifecycle_stage' as tag_group, lifecycle_stage as tag_name from rfm where lifecycle_stage is not null
    union all
    select one_id, 'fan_status' as tag_group, fan_status as tag_name from members where fan_status is not null
    union all
    select one_id, 'member_level' as tag_group, cast(member_level as {{ dbt.type_string() }}) as tag_name
    from members
    where member_level is not null
    union all
    select
        one_id,
        'channel_preference' as tag_group,
        {{ dbt.concat(["channel", "case when member_channels = 1 then '_only' else '_mostly' end"]) }} as tag_name
    from top_channel
    where channel_rank = 1
    union all
    select one_id, 'product_affinity' as tag_group, category as tag_name from top_category where category_rank = 1
    union all
    select one_id, 'repurchase_due' as tag_group, due_status as tag_name
    from {{ ref('mart_member_repurchase_due') }}
    where due_status is not null
)

select
    values_by_group.one_id,
    'computed' as tag_source,
    {{ dbt.concat(["values_by_group.tag_group", "':'", "values_by_group.tag_name"]) }} as tag_id,
    values_by_group.tag_group,
    values_by_group.tag_name,
    rules.rule_version,
    rules.rule
from values_by_group
join {{ ref('computed_tag_rules') }} as rules
    on rules.tag_group = values_by_group.tag_group
