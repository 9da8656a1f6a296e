{#- Monthly fans (粉丝), net new fans, friend acceptance and churn (删粉率) by brand, store and
    guide. Stocks are counted at the month's first instant (start) and the next month's first
    instant (end) with macro live_at; flows are spells starting / ending inside
    [month_start_at, next_month_start_at). Exact definitions in _metrics__models.yml. -#}
with months as (
    select month, month_start_at, next_month_start_at from {{ ref('int_calendar__months') }}
),

spells as (
    select * from {{ ref('int_fans__spells') }}
),

boundaries as (
    select month, 'start' as boundary, month_start_at as at from months
    union all
    select month, 'end' as boundary, next_month_start_at as at from months
),

live as (
    select
        boundaries.month,
        boundaries.boundary,
        spells.fan_key,
        spells.fan_source,
        spells.store_code,
        spells.guide_userid
    from boundaries
    join spells
        on {{ live_at('spells', 'boundaries.at') }}
),

live_scoped as (
    {{ fan_out_scopes('live') }}
),

stocks as (
    select
        month, scope, scope_store_code, scope_guide_userid,
        count(distinct case when boundary = 'start' then fan_key end) as fans_at_start,
        count(distinct case when boundary = 'end' then fan_key end) as fans_at_end,
        count(distinct case when boundary = 'start' and fan_source = 'wecom' then fan_key end) as wecom_fans_at_start,
        count(distinct case when boundary = 'end' and fan_source = 'wecom' then fan_key end) as wecom_fans_at_end,
        count(distinct case when boundary = 'end' and fan_source = 'group' then fan_key end) as group_fans_at_end,
        sum(case when boundary = 'start' and fan_source = 'wecom' then 1 else 0 end) as relationships_at_start,
        sum(case when boundary = 'end' and fan_source = 'wecom' then 1 else 0 end) as relationships_at_end
    from live_scoped
    group by month, scope, scope_store_code, scope_guide_userid
),

relationships as (
    select * from {{ ref('fct_wecom_relationships') }}
),

flow_events as (
    select
        months.month,
        relationships.store_code,
        relationships.guide_userid,
        case when relationships.is_transfer_in then 'transfer_in' else 'add' end as flow
    from months
    join relationships
        on relationships.started_at >= months.month_start_at
       and relationships.started_at < months.next_month_start_at
    union all
    select
        months.month,
        relationships.store_code,
        relationships.guide_userid,
        relationships.end_reason as flow
    from months
    join relationships
        on relationships.ended_at >= months.month_start_at
       and relationships.ended_at < months.next_month_start_at
),

flows_scoped as (
    {{ fan_out_scopes('flow_events') }}
),

flows as (
    select
        month, scope, scope_store_code, scope_guide_userid,
        sum(case when flow = 'add' then 1 else 0 end) as friend_adds,
        sum(case when flow = 'transfer_in' then 1 else 0 end) as transfers_in,
        sum(case when flow = 'customer_deleted' then 1 else 0 end) as customer_deletions,
        sum(case when flow = 'guide_deleted' then 1 else 0 end) as guide_deletions,
        sum(case when flow = 'transferred' then 1 else 0 end) as transfers_out
    from flows_scoped
    group by month, scope, scope_store_code, scope_guide_userid
),

guide_days as (
    select
        months.month,
        staff.store_code,
        stats.guide_userid,
        stats.new_apply_count,
        stats.new_contact_count
    from {{ ref('stg_wecom__guide_daily_stats') }} as stats
    join months
        on months.month = {{ month_of('stats.stat_date') }}
    left join {{ ref('stg_master__staff') }} as staff
        on staff.wecom_userid = stats.guide_userid
),

guide_days_scoped as (
    {{ fan_out_scopes('guide_days') }}
),

applications as (
    select
        month, scope, scope_store_code, scope_guide_userid,
        sum(new_apply_count) as friend_applications,
        sum(new_contact_count) as friend_acceptances
    from guide_days_scoped
    group by month, scope, scope_store_code, scope_guide_userid
),

scope_keys as (
    select scope, scope_store_code, scope_guide_userid from stocks
    union
    select scope, scope_store_code, scope_guide_userid from flows
    union
    select scope, scope_store_code, scope_guide_userid from applications
    union
    select 'brand', {{ dbt.cast('null', dbt.type_string()) }}, {{ dbt.cast('null', dbt.type_string()) }}
),

dense as (
    select months.month, scope_keys.*
    from months
    cross join scope_keys
),

filled as (
    select
        dense.month,
        dense.scope,
        dense.scope_store_code as store_code,
        dense.scope_guide_userid as guide_userid,
        coalesce(stocks.fans_at_start, 0) as fans_at_start,
        coalesce(stocks.fans_at_end, 0) as fans_at_end,
        coalesce(stocks.wecom_fans_at_start, 0) as wecom_fans_at_start,
        coalesce(stocks.wecom_fans_at_end, 0) as wecom_fans_at_end,
        coalesce(stocks.group_fans_at_end, 0) as group_fans_at_end,
        coalesce(stocks.relationships_at_start, 0) as relationships_at_start,
        coalesce(stocks.relationships_at_end, 0) as relationships_at_end,
        coalesce(flows.friend_adds, 0) as friend_adds,
        coalesce(flows.transfers_in, 0) as transfers_in,
        coalesce(flows.customer_deletions, 0) as customer_deletions,
        coalesce(flows.guide_deletions, 0) as guide_deletions,
        coalesce(flows.transfers_out, 0) as transfers_out,
        coalesce(applications.friend_applications, 0) as friend_applications,
        coalesce(applications.friend_acceptances, 0) as friend_acceptances
    from dense
    left join stocks
        on stocks.month = dense.month
       and stocks.scope = dense.scope
       and {{ null_safe_equals('stocks.scope_store_code', 'dense.scope_store_code') }}
       and {{ null_safe_equals('stocks.scope_guide_userid', 'dense.scope_guide_userid') }}
    left join flows
        on flows.month = dense.month
       and flows.scope = dense.scope
       and {{ null_safe_equals('flows.scope_store_code', 'dense.scope_store_code') }}
       and {{ null_safe_equals('flows.scope_guide_userid', 'dense.scope_guide_userid') }}
    left join applications
        on applications.month = dense.month
       and applications.scope = dense.scope
       and {{ null_safe_equals('applications.scope_store_code', 'dense.scope_store_code') }}
       and {{ null_safe_equals('applications.scope_guide_userid', 'dense.scope_guide_userid') }}
)

select
    filled.month,
    filled.scope,
    filled.store_code,
    filled.guide_userid,
    staff.employee_no as guide_employee_no,
    filled.fans_at_start,
    filled.fans_at_end,
    cast(filled.fans_at_start + filled.fans_at_end as {{ type_double() }}) / 2 as average_fans,
    filled.fans_at_end - filled.fans_at_start as fan_change,
    filled.wecom_fans_at_start,
    filled.wecom_fans_at_end,
    filled.group_fans_at_end,
    filled.relationships_at_start,
    filled.relationships_at_end,
    filled.friend_adds,
    filled.transfers_in,
    filled.customer_deletions,
    filled.guide_deletions,
    filled.transfers_out,
    filled.friend_adds - filled.customer_deletions as net_new_fans,
    {{ ratio('filled.customer_deletions', 'filled.wecom_fans_at_start') }} as churn_rate,
    filled.friend_applications,
    filled.friend_acceptances,
    {{ ratio('filled.friend_acceptances', 'filled.friend_applications') }} as friend_acceptance_rate
from filled
left join {{ ref('stg_master__staff') }} as staff
    on staff.wecom_userid = filled.guide_userid
   and filled.scope = 'guide'
