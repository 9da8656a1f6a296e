{#- Member-only KPIs, one row per month of the window (int_calendar__months):
    * 会员复购率 - repurchase among loyalty members: of the buyers holding a loyalty card
      (fct_orders.is_loyalty_member: a CRM member id or a card number in dim_member, as of the end
      of the data, the member of mart_sales_monthly's loyalty_member_sales_share), those with >= 2
      valid orders booked in the month - mart_repurchase_monthly's monthly rate restricted to
      loyalty members; the brand's rate over every identified buyer is beside it;
    * per-fan referral rate - of the members who were WeCom fans at some time in the month (a
      relationship spell live at the month start or started in it), those who sent a referral
      invite (fct_referrals, the inviter's one_id) while a WeCom relationship of theirs was live
      (macro live_at at invited_at); invites sent by fans per such fan.
    Exact definitions in _operations__models.yml. -#}
with months as (
    select month, month_start_at, next_month_start_at from {{ ref('int_calendar__months') }}
),

loyalty_buyer_months as (
    select order_month as month, one_id, count(*) as orders
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null and is_loyalty_member
    group by order_month, one_id
),

loyalty as (
    select
        month,
        count(*) as loyalty_buyers,
        sum(case when orders >= 2 then 1 else 0 end) as loyalty_repeat_buyers
    from loyalty_buyer_months
    group by month
),

brand_repurchase as (
    select month, buyers, repeat_buyers, repurchase_rate
    from {{ ref('mart_repurchase_monthly') }}
    where scope = 'brand'
),

spells as (
    select one_id, started_at as live_from, ended_at as live_until
    from {{ ref('fct_wecom_relationships') }}
    where one_id is not null
),

fans_in_month as (
    select months.month, count(distinct spells.one_id) as fans_in_month
    from months
    join spells
        on (spells.live_from is null or spells.live_from < months.next_month_start_at)
       and (spells.live_until is null or spells.live_until >= months.month_start_at)
    group by months.month
),

fan_invites as (
    -- invites whose inviter had a live WeCom relationship when inviting
    select distinct
        referrals.referral_id,
        referrals.invite_month as month,
        referrals.inviter_one_id,
        referrals.is_converted
    from {{ ref('fct_referrals') }} as referrals
    join spells
        on spells.one_id = referrals.inviter_one_id
       and {{ live_at('spells', 'referrals.invited_at') }}
),

referrals as (
    select
        month,
        count(*) as fan_invites,
        count(distinct inviter_one_id) as referring_fans,
        sum(case when is_converted then 1 else 0 end) as converted_fan_invites
    from fan_invites
    group by month
)

select
    months.month,
    coalesce(loyalty.loyalty_buyers, 0) as loyalty_buyers,
    coalesce(loyalty.loyalty_repeat_buyers, 0) as loyalty_repeat_buyers,
    {{ ratio('coalesce(loyalty.loyalty_repeat_buyers, 0)', 'loyalty.loyalty_buyers') }} as loyalty_repurchase_rate,
    coalesce(brand_repurchase.buyers, 0) as buyers,
    coalesce(brand_repurchase.repeat_buyers, 0) as repeat_buyers,
    brand_repurchase.repurchase_rate,
    {{ ratio('coalesce(loyalty.loyalty_buyers, 0)', 'brand_repurchase.buyers') }} as loyalty_buyer_share,
    coalesce(fans_in_month.fans_in_month, 0) as fans_in_month,
    coalesce(referrals.referring_fans, 0) as referring_fans,
    coalesce(referrals.fan_invites, 0) as fan_invites,
    coalesce(referrals.converted_fan_invites, 0) as converted_fan_invites,
    {{ ratio('coalesce(referrals.referring_fans, 0)', 'fans_in_month.fans_in_month') }} as fan_referral_rate,
    {{ ratio('coalesce(referrals.fan_invites, 0)', 'fans_in_month.fans_in_month') }} as invites_per_fan,
    {{ ratio('coalesce(referrals.converted_fan_invites, 0)', 'fans_in_month.fans_in_month') }} as converted_invites_per_fan,
    {{ identity_graph_column() }}
from months
left join loyalty
    on loyalty.month = months.month
left join brand_repurchase
    on brand_repurchase.month = months.month
left join fans_in_month
    on fans_in_month.month = months.month
left join referrals
    on referrals.month = months.month
