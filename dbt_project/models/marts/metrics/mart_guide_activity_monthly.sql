{#- Guide activity and service (小B 月活, 导购服务), monthly by brand, store and guide: one row
    per month x scope (brand; store: the guides of a staff master store, null for guides it
    does not know; guide: one WeCom userid) for every scope with a guide-day in the window.
    Guide-days come from int_guides__days (on staff, statistics, adds; a day without a
    statistics row is an inactive day). Sums are over the month's days; reply rate and reply
    time are weighted by each day's chat_count over the days that report them. The guide's
    employee number is int_guides__days' (one per userid, also when a userid was reused). Exact
    definitions in _metrics__models.yml. -#}
with months as (
    select month from {{ ref('int_calendar__months') }}
),

month_days as (
    select month, count(*) as days_in_month from {{ ref('int_calendar__days') }} group by month
),

guide_days as (
    select
        month,
        store_code,
        guide_userid,
        case when is_on_staff then 1 else 0 end as on_staff_day,
        case when is_active then 1 else 0 end as active_day,
        case when is_on_staff then guide_userid end as on_staff_guide,
        case when has_stats then guide_userid end as reporting_guide,
        case when is_active then guide_userid end as active_guide,
        case when is_active and is_on_staff then guide_userid end as active_on_staff_guide,
        new_apply_count,
        new_contact_count,
        friend_adds,
        chat_count,
        message_count,
        negative_feedback_count,
        case when reply_percentage is not null then chat_count end as reply_weight,
        reply_percentage * chat_count as weighted_reply_percentage,
        case when avg_reply_minutes is not null then chat_count end as reply_time_weight,
        avg_reply_minutes * chat_count as weighted_reply_minutes
    from {{ ref('int_guides__days') }}
),

guide_days_scoped as (
    {{ fan_out_scopes('guide_days') }}
),

activity as (
    select
        {{ scope_columns() }},
        count(distinct on_staff_guide) as guides_on_staff,
        count(distinct reporting_guide) as reporting_guides,
        count(distinct active_guide) as active_guides,
        count(distinct active_on_staff_guide) as active_guides_on_staff,
        sum(on_staff_day) as guide_days_on_staff,
        sum(active_day) as active_guide_days,
        sum(new_apply_count) as friend_applications,
        sum(new_contact_count) as friend_acceptances,
        sum(friend_adds) as friend_adds,
        sum(chat_count) as chats,
        sum(message_count) as messages,
        sum(negative_feedback_count) as negative_feedback,
        sum(reply_weight) as reply_weight,
        sum(weighted_reply_percentage) as weighted_reply_percentage,
        sum(reply_time_weight) as reply_time_weight,
        sum(weighted_reply_minutes) as weighted_reply_minutes
    from guide_days_scoped
    group by {{ scope_columns() }}
),

dense as (
    {{ scope_grid(['activity']) }}
),

filled as (
    {{ fill_scopes({
        'activity': ['guides_on_staff', 'reporting_guides', 'active_guides', 'active_guides_on_staff',
                     'guide_days_on_staff', 'active_guide_days', 'friend_applications', 'friend_acceptances',
                     'friend_adds', 'chats', 'messages', 'negative_feedback', 'reply_weight',
                     'weighted_reply_percentage', 'reply_time_weight', 'weighted_reply_minutes'],
    }) }}
)

select
    filled.month,
    filled.scope,
    filled.store_code,
    filled.guide_userid,
    guide_staff.guide_employee_no,
    month_days.days_in_month,
    filled.guides_on_staff,
    filled.reporting_guides,
    filled.active_guides,
    filled.active_guides_on_staff,
    {{ ratio('filled.active_guides_on_staff', 'filled.guides_on_staff') }} as monthly_active_rate,
    filled.guide_days_on_staff,
    filled.active_guide_days,
    {{ ratio('filled.active_guide_days', 'month_days.days_in_month') }} as average_daily_active_guides,
    filled.friend_applications,
    filled.friend_acceptances,
    {{ ratio('filled.friend_acceptances', 'filled.friend_applications') }} as friend_acceptance_rate,
    filled.friend_adds,
    filled.chats,
    filled.messages,
    {{ ratio('filled.weighted_reply_percentage', 'filled.reply_weight') }} / 100 as reply_rate,
    {{ ratio('filled.weighted_reply_minutes', 'filled.reply_time_weight') }} as avg_reply_minutes,
    filled.negative_feedback
from filled
join month_days
    on month_days.month = filled.month
left join (select distinct guide_userid, guide_employee_no from {{ ref('int_guides__days') }}) as guide_staff
    on guide_staff.guide_userid = filled.guide_userid
   and filled.scope = 'guide'
