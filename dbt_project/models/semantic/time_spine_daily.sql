{#- MetricFlow's time spine (dbt >= 1.9, `time_spine` in _time_spine.yml): one row per calendar
    day from 2015-01-01 to 2039-12-31, a fixed range so that it depends on no data and is the same
    on every engine and every build. MetricFlow joins it for offsets (month-over-month growth:
    friend_sales_growth ...) and for metric_time; a query outside the range has no day to join.
    The brands' data starts in the 2020s; widen the range here if a backfill goes further back.
    Days are 2015-01-01 plus 0-9999 days from four digit tables, cut at 2040-01-01 (portable: no
    generate_series, which Spark lacks; 9,131 rows). -#}
{{ config(materialized='table', schema='semantic') }}

with digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

day_offsets as (
    select ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
),

days as (
    select cast({{ dbt.dateadd('day', 'day_offset', "cast('2015-01-01' as date)") }} as date) as date_day
    from day_offsets
)

select date_day
from days
where date_day < cast('2040-01-01' as date)
