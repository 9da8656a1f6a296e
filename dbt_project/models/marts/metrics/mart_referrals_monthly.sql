{#- Referral rate (转介绍率): new customers who came by referral / all new customers, monthly, plus
    the invite funnel by invite month. Exact definitions in _metrics__models.yml. -#}
with months as (
    select month from {{ ref('int_calendar__months') }}
),

first_orders as (
    select one_id, min(booked_at) as first_order_at
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
    group by one_id
),

referrals as (
    select * from {{ ref('fct_referrals') }}
),

new_customers as (
    select
        {{ month_of('first_orders.first_order_at') }} as month,
        first_orders.one_id,
        max(case when referrals.referral_id is not null then 1 else 0 end) as came_by_referral
    from first_orders
    left join referrals
        on referrals.invitee_one_id = first_orders.one_id
       and referrals.invited_at <= first_orders.first_order_at
    group by {{ month_of('first_orders.first_order_at') }}, first_orders.one_id
),

acquisition as (
    select month, count(*) as new_customers, sum(came_by_referral) as referred_new_customers
    from new_customers
    group by month
),

invites as (
    select
        invite_month as month,
        count(*) as invites,
        count(distinct inviter_one_id) as inviters,
        sum(case when is_registered then 1 else 0 end) as registered_invitees,
        sum(case when is_converted then 1 else 0 end) as converted_invitees
    from referrals
    group by invite_month
)

select
    months.month,
    coalesce(acquisition.new_customers, 0) as new_customers,
    coalesce(acquisition.referred_new_customers, 0) as referred_new_customers,
    {{ ratio('acquisition.referred_new_customers', 'acquisition.new_customers') }} as referral_rate,
    coalesce(invites.invites, 0) as invites,
    coalesce(invites.inviters, 0) as inviters,
    coalesce(invites.registered_invitees, 0) as registered_invitees,
    coalesce(invites.converted_invitees, 0) as converted_invitees,
    {{ ratio('invites.converted_invitees', 'invites.invites') }} as invite_conversion_rate,
    {{ identity_graph_column() }}
from months
left join acquisition
    on acquisition.month = months.month
left join invites
    on invites.month = months.month
