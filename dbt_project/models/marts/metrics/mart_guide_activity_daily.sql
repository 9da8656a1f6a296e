{#- Daily active guides (小B 日活), one row per day of the reporting window x scope: brand, and
    store (every store of the store master and every store code of a guide-day; null for
    guides the staff master does not know). From int_guides__days: a guide is active on a day
    with chats or adds; a day without a statistics row is an inactive day. Exact definitions
    in _metrics__models.yml. -#}
with days as (
    select day, month from {{ ref('int_calendar__days') }}
),

guide_days as (
    select
        day,
        store_code,
        case when is_on_staff then 1 else 0 end as on_staff,
        case when has_stats then 1 else 0 end as reporting,
        case when is_active then 1 else 0 end as active,
        case when is_active and is_on_staff then 1 else 0 end as active_on_staff,
        chat_count,
        friend_adds
    from {{ ref('int_guides__days') }}
),

guide_days_scoped as (
    {{ fan_out_scopes('guide_days', scopes=[('store', 'store_code')]) }}
),

activity as (
    select
        day,
        scope,
        scope_store_code,
        sum(on_staff) as guides_on_staff,
        sum(reporting) as reporting_guides,
        sum(active) as active_guides,
        sum(active_on_staff) as active_guides_on_staff,
        sum(chat_count) as chats,
        sum(friend_adds) as friend_adds
    from guide_days_scoped
    group by day, scope, scope_store_code
),

scope_keys as (
    select scope, scope_store_code from activity
    union
    select 'store' as scope, store_code as scope_store_code from {{ ref('stg_master__stores') }}
    union
    select 'brand' as scope, {{ dbt.cast('null', dbt.type_string()) }} as scope_store_code
),

dense as (
    select days.day, days.month, scope_keys.scope, scope_keys.scope_store_code
    from days
    cross join scope_keys
)

select
    dense.day,
    dense.month,
    dense.scope,
    dense.scope_store_code as store_code,
    coalesce(activity.guides_on_staff, 0) as guides_on_staff,
    coalesce(activity.reporting_guides, 0) as reporting_guides,
    coalesce(activity.active_guides, 0) as active_guides,
    coalesce(activity.active_guides_on_staff, 0) as active_guides_on_staff,
    {{ ratio('activity.active_guides_on_staff', 'activity.guides_on_staff') }} as daily_active_rate,
    coalesce(activity.chats, 0) as chats,
    coalesce(activity.friend_adds, 0) as friend_adds
from dense
left join activity
    on activity.day = dense.day
   and activity.scope = dense.scope
   and {{ null_safe_equals('activity.scope_store_code', 'dense.scope_store_code') }}
