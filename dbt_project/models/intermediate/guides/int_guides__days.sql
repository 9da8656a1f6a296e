{#- One row per guide (WeCom userid) and day of the reporting window on which the guide was on
    staff, reported WeCom behaviour statistics (stg_wecom__guide_daily_stats) or started an
    acquisition relationship (int_wecom__relationship_spells): the base of the guide activity
    marts (小B 日活 / 月活).
    * a guide is a staff master employee with a WeCom userid; when two employees share a userid
      (a rehire), the active one, else the latest hired, names the guide's employee number and
      store;
    * on staff (is_on_staff): hired_on <= day < left_on (the leaving date is the first day away,
      as the statistics stop the day before it); an employee marked left without a leaving date
      is on staff on no day; a hire without a hiring date counts from the window's start;
    * statistics of a userid the staff master does not know keep their day, with no employee
      number and no store;
    * friend_adds: relationship spells started that day that are acquisitions (start known, not
      the receiving side of a transfer), as friend_adds in mart_fans_monthly;
    * active (is_active): chat_count > 0 or new_contact_count > 0 in the statistics, or
      friend_adds > 0 (a guide with chats or adds that day). Friend requests alone
      (new_apply_count) do not make a guide active; a missing statistics row is no activity. -#}
with days as (
    select day, month from {{ ref('int_calendar__days') }}
),

guides as (
    select employee_no, wecom_userid, store_code, hired_on, left_on, is_active
    from (
        select
            staff.*,
            row_number() over (
                partition by wecom_userid
                order by case when is_active then 0 else 1 end, hired_on desc nulls last, employee_no desc
            ) as userid_rank
        from {{ ref('stg_master__staff') }} as staff
        where wecom_userid is not null
    ) as ranked
    where userid_rank = 1
),

staff_days as (
    select days.day, guides.wecom_userid as guide_userid
    from guides
    join days
        on (guides.hired_on is null or days.day >= guides.hired_on)
       and (days.day < guides.left_on or (guides.left_on is null and guides.is_active))
),

stats as (
    select
        stats.guide_userid,
        stats.stat_date as day,
        stats.new_apply_count,
        stats.new_contact_count,
        stats.chat_count,
        stats.message_count,
        stats.reply_percentage,
        stats.avg_reply_minutes,
        stats.negative_feedback_count
    from {{ ref('stg_wecom__guide_daily_stats') }} as stats
    join days
        on days.day = stats.stat_date
),

adds as (
    select
        spells.guide_userid,
        cast(spells.started_at as date) as day,
        count(*) as friend_adds
    from {{ ref('int_wecom__relationship_spells') }} as spells
    join days
        on days.day = cast(spells.started_at as date)
    where spells.started_at is not null
      and not spells.is_transfer_in
    group by spells.guide_userid, cast(spells.started_at as date)
),

guide_day_keys as (
    select guide_userid, day from staff_days
    union
    select guide_userid, day from stats
    union
    select guide_userid, day from adds
)

select
    guide_day_keys.day,
    days.month,
    guide_day_keys.guide_userid,
    guides.employee_no as guide_employee_no,
    guides.store_code,
    staff_days.guide_userid is not null as is_on_staff,
    stats.guide_userid is not null as has_stats,
    stats.new_apply_count,
    stats.new_contact_count,
    stats.chat_count,
    stats.message_count,
    stats.reply_percentage,
    stats.avg_reply_minutes,
    stats.negative_feedback_count,
    coalesce(adds.friend_adds, 0) as friend_adds,
    coalesce(stats.chat_count > 0, false)
    or coalesce(stats.new_contact_count > 0, false)
    or coalesce(adds.friend_adds > 0, false) as is_active
from guide_day_keys
join days
    on days.day = guide_day_keys.day
left join guides
    on guides.wecom_userid = guide_day_keys.guide_userid
left join staff_days
    on staff_days.guide_userid = guide_day_keys.guide_userid and staff_days.day = guide_day_keys.day
left join stats
    on stats.guide_userid = guide_day_keys.guide_userid and stats.day = guide_day_keys.day
left join adds
    on adds.guide_userid = guide_day_keys.guide_userid and adds.day = guide_day_keys.day
