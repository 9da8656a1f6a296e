{#- One row per calendar day of the reporting window: every day of the months of
    int_calendar__months (so a daily figure and its month's figure cover the same days). Days
    are the month start plus 0-30 days, kept while inside the month (portable; no
    generate_series). -#}
with months as (
    select month, next_month_start_at from {{ ref('int_calendar__months') }}
),

day_offsets as (
    select units.d + 10 * tens.d as day_offset
    from (
        select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
        union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
    ) as units
    cross join (select 0 as d union all select 1 union all select 2 union all select 3) as tens
),

days as (
    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'months.month') }} as date) as day,
        months.month,
        months.next_month_start_at
    from months
    cross join day_offsets
)

select
    day,
    month
from days
where cast(day as {{ dbt.type_timestamp() }}) < next_month_start_at
