{#- Customer groups (社群) by brand, store and owner guide: groups and group members at the end of
    the month, new group members, and group activity (社群活跃率) from WeCom's daily group
    statistics. Exact definitions in _metrics__models.yml. -#}
with months as (
    select month, month_start_at, next_month_start_at from {{ ref('int_calendar__months') }}
),

memberships as (
    select
        membership.*,
        coalesce(membership.one_id, {{ dbt.concat(["'wecom:'", 'membership.member_userid']) }}) as fan_key
    from {{ ref('fct_group_membership') }} as membership
),

at_end as (
    select
        months.month,
        memberships.store_code,
        memberships.owner_userid as guide_userid,
        memberships.chat_id,
        memberships.member_kind,
        memberships.fan_key,
        case when memberships.joined_at >= months.month_start_at then 1 else 0 end as joined_in_month
    from months
    join memberships
        on memberships.joined_at < months.next_month_start_at
        or memberships.joined_at is null
),

at_end_scoped as (
    {{ fan_out_scopes('at_end') }}
),

stocks as (
    select
        {{ scope_columns() }},
        count(distinct chat_id) as groups_at_end,
        count(distinct case when member_kind = 'customer' then fan_key end) as group_customers_at_end,
        sum(case when member_kind = 'customer' and joined_in_month = 1 then 1 else 0 end) as customers_joined
    from at_end_scoped
    group by {{ scope_columns() }}
),

stat_days as (
    {{ guide_daily_rows('stg_wecom__group_daily_stats', 'owner_userid',
                        ['member_total_count', 'member_with_message_count', 'message_count']) }}
),

stat_days_scoped as (
    {{ fan_out_scopes('stat_days') }}
),

activity as (
    select
        {{ scope_columns() }},
        sum(member_total_count) as member_days,
        sum(member_with_message_count) as active_member_days,
        sum(message_count) as messages
    from stat_days_scoped
    group by {{ scope_columns() }}
),

dense as (
    {{ scope_grid(['stocks', 'activity']) }}
),

filled as (
    {{ fill_scopes({
        'stocks': ['groups_at_end', 'group_customers_at_end', 'customers_joined'],
        'activity': ['member_days', 'active_member_days', 'messages'],
    }) }}
)

select
    filled.month,
    filled.scope,
    filled.store_code,
    filled.guide_userid,
    staff.employee_no as guide_employee_no,
    filled.groups_at_end,
    filled.group_customers_at_end,
    filled.customers_joined,
    filled.member_days,
    filled.active_member_days,
    {{ ratio('filled.active_member_days', 'filled.member_days') }} as group_activity_rate,
    filled.messages,
    {{ identity_graph_column() }}
from filled
{{ left_join_guide_staff('filled') }}
