{#- Monthly fans (粉丝), net new fans, friend acceptance and churn (删粉率) by brand, store and
    guide. Stocks are counted at the month's first instant (start) and the next month's first
    instant (end): a spell is live at t when live_from < t <= live_until (macro live_at); flows
    are spells starting / ending inside [month_start_at, next_month_start_at). Exact definitions
    in _metrics__models.yml.
    Only month starts are ever asked, so each spell becomes the range of month starts at which it
    is live, [from_boundary, until_boundary) (the month after live_from's month, the month after
    live_until's month), and a stock is a running sum of +1 / -1 steps over the month starts.
    A fan counts once per scope however many spells it has there: per fan and scope, the running
    count of its live spells; the fan steps the stock up where that count leaves 0 and down where
    it returns to 0. (Joining every spell to every month start it is live at made ~1B rows at
    10M members and spilled more than 18 GB.) -#}
with months as (
    select month, month_start_at, next_month_start_at from {{ ref('int_calendar__months') }}
),

spells as {{ inline_cte() }} (
    select * from {{ ref('int_fans__spells') }}
),

boundaries as (
    -- every instant a stock is read at: the month starts, and the start of the month after the last
    select month as boundary from months
    union
    select cast({{ dbt.dateadd('month', 1, 'month') }} as date) from months
),

first_boundary as (
    select min(boundary) as boundary from boundaries
),

spell_months as {{ inline_cte() }} (
    -- the first month start after live_from / after live_until (null: no bound)
    select
        fan_key,
        fan_source,
        store_code,
        guide_userid,
        cast({{ dbt.dateadd('month', 1, month_of('live_from')) }} as date) as from_month,
        cast({{ dbt.dateadd('month', 1, month_of('live_until')) }} as date) as until_month
    from spells
),

spell_steps as {{ inline_cte() }} (
    -- a spell is live at the month starts in [from_boundary, until_boundary) (null: still live);
    -- spells live before the first month start enter at it
    select
        spell_months.fan_key,
        spell_months.fan_source,
        spell_months.store_code,
        spell_months.guide_userid,
        case
            when spell_months.from_month is null or spell_months.from_month < first_boundary.boundary
                then first_boundary.boundary
            else spell_months.from_month
        end as from_boundary,
        case
            when spell_months.until_month < first_boundary.boundary then first_boundary.boundary
            else spell_months.until_month
        end as until_boundary
    from spell_months
    cross join first_boundary
),

live_spells as {{ inline_cte() }} (
    -- spells live at one month start at least (a spell ending before it starts never is)
    select * from spell_steps
    where until_boundary is null or until_boundary > from_boundary
),

live_scoped as (
    {{ fan_out_scopes('live_spells') }}
),

scoped_steps as (
    -- each live spell steps its scope's count up at from_boundary and down at until_boundary,
    -- counted for the fans of every source (kind all) and of its own source (kind source)
    select
        live_scoped.scope,
        live_scoped.scope_store_code,
        live_scoped.scope_guide_userid,
        live_scoped.fan_key,
        case when kinds.kind = 'all' then 'all' else live_scoped.fan_source end as kind,
        case when kinds.kind = 'all' and live_scoped.fan_source = 'wecom' then 1 else 0 end as is_relationship,
        case when kinds.kind = 'all' then 1 else 0 end as is_spell,
        case when ends.step = 1 then live_scoped.from_boundary else live_scoped.until_boundary end as boundary,
        ends.step
    from live_scoped
    cross join (select 1 as step union all select -1 as step) as ends
    cross join (select 'all' as kind union all select 'source' as kind) as kinds
    where ends.step = 1 or live_scoped.until_boundary is not null
),

fan_steps as (
    -- per fan (null: spells without a fan key), kind and scope: the change of its live spells
    select
        scope, scope_store_code, scope_guide_userid, fan_key, kind, boundary,
        sum(step) as step,
        sum(step * is_relationship) as relationship_step,
        sum(step * is_spell) as spell_step
    from scoped_steps
    group by scope, scope_store_code, scope_guide_userid, fan_key, kind, boundary
),

fan_live_spells as (
    select
        fan_steps.*,
        sum(step) over (
            partition by scope, scope_store_code, scope_guide_userid, fan_key, kind
            order by boundary
            rows between unbounded preceding and current row
        ) as live_after
    from fan_steps
),

fan_changes as (
    -- a fan steps the distinct count up where its live spells rise from 0, down where they fall to 0
    select
        fan_live_spells.*,
        case
            when fan_key is null then 0
            when live_after > 0 and live_after - step <= 0 then 1
            when live_after <= 0 and live_after - step > 0 then -1
            else 0
        end as fan_step
    from fan_live_spells
),

stock_changes as (
    -- relationships and spells are not distinct: every live spell counts (spells say which
    -- scopes have a stock at all)
    select
        scope, scope_store_code, scope_guide_userid, boundary,
        sum(case when kind = 'all' then fan_step else 0 end) as fans,
        sum(case when kind = 'wecom' then fan_step else 0 end) as wecom_fans,
        sum(case when kind = 'group' then fan_step else 0 end) as group_fans,
        sum(relationship_step) as relationships,
        sum(spell_step) as spells
    from fan_changes
    group by scope, scope_store_code, scope_guide_userid, boundary
),

stock_grid as (
    -- every scope with a live spell, at every boundary
    select stock_keys.scope, stock_keys.scope_store_code, stock_keys.scope_guide_userid, boundaries.boundary,
           coalesce(stock_changes.fans, 0) as fans,
           coalesce(stock_changes.wecom_fans, 0) as wecom_fans,
           coalesce(stock_changes.group_fans, 0) as group_fans,
           coalesce(stock_changes.relationships, 0) as relationships,
           coalesce(stock_changes.spells, 0) as spells
    from (select distinct scope, scope_store_code, scope_guide_userid from stock_changes) as stock_keys
    cross join boundaries
    -- the subquery's stock_changes is another query level, not a second alias
    left join stock_changes  -- noqa: AL04
        on stock_changes.scope = stock_keys.scope
       and {{ null_safe_equals('stock_changes.scope_store_code', 'stock_keys.scope_store_code') }}
       and {{ null_safe_equals('stock_changes.scope_guide_userid', 'stock_keys.scope_guide_userid') }}
       and stock_changes.boundary = boundaries.boundary
),

stock_levels as (
    select
        scope, scope_store_code, scope_guide_userid, boundary,
        {%- for column in ['fans', 'wecom_fans', 'group_fans', 'relationships', 'spells'] %}
        sum({{ column }}) over (
            partition by scope, scope_store_code, scope_guide_userid
            order by boundary
            rows between unbounded preceding and current row
        ) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from stock_grid
),

stock_months as (
    -- the level at the month's start and at the next month's start
    select
        scope, scope_store_code, scope_guide_userid, boundary as month,
        {%- for column in ['fans', 'wecom_fans', 'group_fans', 'relationships', 'spells'] %}
        {{ column }} as {{ column }}_at_start,
        lead({{ column }}) over (
            partition by scope, scope_store_code, scope_guide_userid order by boundary
        ) as {{ column }}_at_end{{ ',' if not loop.last }}
        {%- endfor %}
    from stock_levels
),

stocks as (
    -- a scope has stock rows in the months a spell of it is live at the start or the end
    select
        stock_months.month, stock_months.scope, stock_months.scope_store_code, stock_months.scope_guide_userid,
        stock_months.fans_at_start, stock_months.fans_at_end,
        stock_months.wecom_fans_at_start, stock_months.wecom_fans_at_end, stock_months.group_fans_at_end,
        stock_months.relationships_at_start, stock_months.relationships_at_end
    from stock_months
    join months on months.month = stock_months.month
    where stock_months.spells_at_start > 0 or stock_months.spells_at_end > 0
),

relationships as {{ inline_cte() }} (
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
        {{ scope_columns() }},
        sum(case when flow = 'add' then 1 else 0 end) as friend_adds,
        sum(case when flow = 'transfer_in' then 1 else 0 end) as transfers_in,
        sum(case when flow = 'customer_deleted' then 1 else 0 end) as customer_deletions,
        sum(case when flow = 'guide_deleted' then 1 else 0 end) as guide_deletions,
        sum(case when flow = 'transferred' then 1 else 0 end) as transfers_out
    from flows_scoped
    group by {{ scope_columns() }}
),

guide_days as (
    {{ guide_daily_rows('stg_wecom__guide_daily_stats', 'guide_userid', ['new_apply_count', 'new_contact_count']) }}
),

guide_days_scoped as (
    {{ fan_out_scopes('guide_days') }}
),

applications as (
    select
        {{ scope_columns() }},
        sum(new_apply_count) as friend_applications,
        sum(new_contact_count) as friend_acceptances
    from guide_days_scoped
    group by {{ scope_columns() }}
),

dense as (
    {{ scope_grid(['stocks', 'flows', 'applications']) }}
),

filled as (
    {{ fill_scopes({
        'stocks': ['fans_at_start', 'fans_at_end', 'wecom_fans_at_start', 'wecom_fans_at_end', 'group_fans_at_end',
                   'relationships_at_start', 'relationships_at_end'],
        'flows': ['friend_adds', 'transfers_in', 'customer_deletions', 'guide_deletions', 'transfers_out'],
        'applications': ['friend_applications', 'friend_acceptances'],
    }) }}
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
    {{ ratio('filled.friend_acceptances', 'filled.friend_applications') }} as friend_acceptance_rate,
    {{ identity_graph_column() }}
from filled
{{ left_join_guide_staff('filled') }}
