{#- Member 360: one row per member (dim_member) with what an operator asks about a person -
    where they are (channels seen, channels bought in with the first and last order in each),
    what they are worth (lifetime valid orders and GMV, RFM, lifecycle, LTV), who looks after them
    (owner guide, store, fan status), what they did (coupons, referrals) and what to do next
    (repurchase due, opt-out), how they are described (current tags, enterprise and computed:
    mart_member_tags) and targeted (the audiences they are in now: mart_audience_members), and
    what they buy (favourite category from fct_order_lines). Everything as of the end of the
    data, except the repurchase due, which is as of the list's as-of date (var
    repurchase_due_as_of). Each part comes from the mart or fact that defines it, so the figures
    agree with them. Lists are sorted distinct strings (macro sorted_set_agg), the same on DuckDB
    and Spark. -#}
{%- set channels = ['tmall', 'jd', 'douyin', 'mini_program', 'pos'] -%}
{#- the sales channels of seeds/sales_channels; test assert_member_360_knows_every_channel fails
    when the seed gains one this list lacks -#}
with members as (
    select * from {{ ref('dim_member') }}
),

orders as {{ inline_cte() }} (
    select one_id, channel, is_valid_order, booked_at, net_amount
    from {{ ref('fct_orders') }}
    where one_id is not null
),

order_summary as (
    select
        one_id,
        sum(case when is_valid_order then 1 else 0 end) as lifetime_orders,
        sum(net_amount) as lifetime_gmv,
        min(case when is_valid_order then booked_at end) as first_order_at,
        max(case when is_valid_order then booked_at end) as last_order_at
        {%- for channel in channels %},
        sum(case when is_valid_order and channel = '{{ channel }}' then 1 else 0 end) as {{ channel }}_orders,
        min(case when is_valid_order and channel = '{{ channel }}' then booked_at end) as {{ channel }}_first_order_at,
        max(case when is_valid_order and channel = '{{ channel }}' then booked_at end) as {{ channel }}_last_order_at
        {%- endfor %}
    from orders
    group by one_id
),

relationships as (
    select
        one_id,
        count(*) as wecom_relationship_spells,
        sum(case when is_churn then 1 else 0 end) as wecom_customer_deletions
    from {{ ref('fct_wecom_relationships') }}
    where one_id is not null
    group by one_id
),

coupons as (
    select
        one_id,
        count(*) as coupons_issued,
        sum(case when is_net_redeemed then 1 else 0 end) as coupons_redeemed,
        max(case when is_net_redeemed then redeemed_at end) as last_coupon_redeemed_at,
        sum(case when is_net_redeemed then redeem_order_net_amount else 0 end) as coupon_order_net_amount
    from {{ ref('fct_coupons') }}
    where one_id is not null
    group by one_id
),

invites_sent as (
    select
        inviter_one_id as one_id,
        count(*) as referral_invites_sent,
        sum(case when is_converted then 1 else 0 end) as referral_invites_converted
    from {{ ref('fct_referrals') }}
    where inviter_one_id is not null
    group by inviter_one_id
),

invited as (
    select invitee_one_id as one_id, min(invited_at) as referred_at
    from {{ ref('fct_referrals') }}
    where invitee_one_id is not null
    group by invitee_one_id
),

rfm as (
    select one_id, lifecycle_stage, rfm_class, recency_days, frequency, monetary, ltv
    from {{ ref('mart_member_rfm_lifecycle') }}
),

due as (
    select one_id, as_of_date, due_date, due_status, interval_basis, is_listed
    from {{ ref('mart_member_repurchase_due') }}
),

tags as (
    -- current tags of every source, one entry per group and name (a name set by WeCom and by the
    -- official account is one tag)
    select
        one_id,
        {{ sorted_set_agg(dbt.concat(['tag_group', "':'", 'tag_name']), "'; '") }} as tags,
        count(distinct {{ dbt.concat(['tag_group', "':'", 'tag_name']) }}) as tag_count
    from {{ ref('mart_member_tags') }}
    where is_current
    group by one_id
),

audiences as (
    select
        one_id,
        {{ sorted_set_agg('audience_id', "'; '") }} as audience_ids,
        count(distinct audience_id) as audience_count
    from {{ ref('mart_audience_members') }}
    group by one_id
),

lines as {{ inline_cte() }} (
    select one_id, category, booked_at, paid_amount
    from {{ ref('fct_order_lines') }}
    where one_id is not null and is_valid_order
),

-- sums of money rounded to the cent: a float sum depends on the order of its terms, and a member
-- who bought one category must get a share of exactly 1 (1.0000000000000002 failed the share's
-- [0, 1] test on a 100,000-member brand)
line_totals as (
    select one_id, round(sum(paid_amount), 2) as lifetime_line_paid_amount
    from lines
    group by one_id
),

category_spend as (
    select one_id, category, round(sum(paid_amount), 2) as paid_amount, max(booked_at) as last_bought_at
    from lines
    where category is not null
    group by one_id, category
),

favourite_category as (
    select one_id, category, paid_amount
    from (
        select
            category_spend.*,
            row_number() over (
                partition by one_id order by paid_amount desc, last_bought_at desc, category asc
            ) as category_rank
        from category_spend
    ) as ranked
    where category_rank = 1
)

select
    members.one_id,
    members.first_seen_at,
    members.last_seen_at,
    members.channel_count,
    members.in_crm,
    members.in_mini_program,
    members.in_official_account,
    members.in_wecom,
    members.in_tmall,
    members.in_jd,
    members.in_douyin,
    members.in_store_pos,
    members.crm_member_id is not null or members.card_no is not null as is_loyalty_member,
    members.member_level,
    members.crm_registered_at,
    {%- set bought = [] %}
    {%- for channel in channels %}
    {%- do bought.append("case when coalesce(order_summary." ~ channel ~ "_orders, 0) > 0 then '," ~ channel ~ "' else '' end") %}
    {%- endfor %}
    nullif(substr({{ dbt.concat(bought) }}, 2), '') as order_channels,
    coalesce(order_summary.lifetime_orders, 0) as lifetime_orders,
    coalesce(order_summary.lifetime_gmv, 0) as lifetime_gmv,
    order_summary.first_order_at,
    order_summary.last_order_at,
    {%- for channel in channels %}
    coalesce(order_summary.{{ channel }}_orders, 0) as {{ channel }}_orders,
    order_summary.{{ channel }}_first_order_at,
    order_summary.{{ channel }}_last_order_at,
    {%- endfor %}
    members.owner_guide_employee_no,
    members.owner_guide_userid,
    members.owner_guide_source,
    members.home_store_code,
    members.fan_status,
    members.is_wecom_fan,
    members.is_group_member,
    members.fan_since,
    members.live_wecom_relationships,
    coalesce(relationships.wecom_relationship_spells, 0) as wecom_relationship_spells,
    coalesce(relationships.wecom_customer_deletions, 0) as wecom_customer_deletions,
    coalesce(coupons.coupons_issued, 0) as coupons_issued,
    coalesce(coupons.coupons_redeemed, 0) as coupons_redeemed,
    coupons.last_coupon_redeemed_at,
    coalesce(coupons.coupon_order_net_amount, 0) as coupon_order_net_amount,
    coalesce(invites_sent.referral_invites_sent, 0) as referral_invites_sent,
    coalesce(invites_sent.referral_invites_converted, 0) as referral_invites_converted,
    invited.one_id is not null as was_referred,
    invited.referred_at,
    rfm.lifecycle_stage,
    rfm.rfm_class,
    rfm.recency_days,
    rfm.frequency,
    rfm.monetary,
    rfm.ltv,
    due.as_of_date as repurchase_due_as_of_date,
    due.due_date as repurchase_due_date,
    due.due_status as repurchase_due_status,
    due.interval_basis as repurchase_interval_basis,
    coalesce(due.is_listed, false) as is_on_callback_list,
    members.is_opted_out,
    tags.tags,
    coalesce(tags.tag_count, 0) as tag_count,
    audiences.audience_ids,
    coalesce(audiences.audience_count, 0) as audience_count,
    favourite_category.category as favourite_category,
    favourite_category.paid_amount as favourite_category_paid_amount,
    coalesce(line_totals.lifetime_line_paid_amount, 0) as lifetime_line_paid_amount,
    {{ ratio('favourite_category.paid_amount', 'line_totals.lifetime_line_paid_amount') }} as favourite_category_share,
    {{ identity_graph_column() }}
from members
left join order_summary
    on order_summary.one_id = members.one_id
left join relationships
    on relationships.one_id = members.one_id
left join coupons
    on coupons.one_id = members.one_id
left join invites_sent
    on invites_sent.one_id = members.one_id
left join invited
    on invited.one_id = members.one_id
left join rfm
    on rfm.one_id = members.one_id
left join due
    on due.one_id = members.one_id
left join tags
    on tags.one_id = members.one_id
left join audiences
    on audiences.one_id = members.one_id
left join line_totals
    on line_totals.one_id = members.one_id
left join favourite_category
    on favourite_category.one_id = members.one_id
