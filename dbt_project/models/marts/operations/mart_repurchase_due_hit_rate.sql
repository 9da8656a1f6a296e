{#- How well the repurchase-due list predicts (回访名单命中率), back-tested: for every month end of
    the window as an as-of date, the members the list would have held (due in the next
    var repurchase_due_window_days days, 7, and not opted out) and how many of them bought within
    var repurchase_due_hit_days (14) days after it (a valid order booked in (as_of_date,
    as_of_date + N days]), against similar unlisted members - of the same RFM class on that date,
    not due, not opted out. One row per as-of date x RFM class, and an 'all' row whose
    control_hit_rate weighs each class's control rate by the class's listed members (the
    comparison the list's own mix of classes would expect). Opt-out is known as of the end of
    the data only. -#}
{%- set hit_days = var('repurchase_due_hit_days', 14) -%}
with months as (
    select data_end_at from {{ ref('int_calendar__months') }}
),

data_end as (
    select max(cast(data_end_at as date)) as data_end_date from months
),

members as (
    select one_id, is_opted_out from {{ ref('dim_member') }}
),

states as (
    select states.*
    from {{ ref('int_members__repurchase_due_states') }} as states
    join members
        on members.one_id = states.one_id
    where states.is_month_end
      and not members.is_opted_out
),

purchase_days as (
    select distinct one_id, cast(booked_at as date) as booked_date
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
),

hits as (
    select distinct states.as_of_date, states.one_id
    from states
    join purchase_days
        on purchase_days.one_id = states.one_id
       and purchase_days.booked_date > states.as_of_date
       and purchase_days.booked_date <= cast({{ dbt.dateadd('day', hit_days, 'states.as_of_date') }} as date)
),

per_class as (
    select
        states.as_of_date,
        coalesce(states.rfm_class, 'unknown') as rfm_class,
        sum(case when states.is_due then 1 else 0 end) as listed_members,
        sum(case when states.is_due and hits.one_id is not null then 1 else 0 end) as listed_buyers,
        sum(case when not states.is_due then 1 else 0 end) as control_members,
        sum(case when not states.is_due and hits.one_id is not null then 1 else 0 end) as control_buyers
    from states
    left join hits
        on hits.as_of_date = states.as_of_date
       and hits.one_id = states.one_id
    group by states.as_of_date, coalesce(states.rfm_class, 'unknown')
),

class_rates as (
    select
        per_class.*,
        {{ ratio('listed_buyers', 'listed_members') }} as hit_rate,
        {{ ratio('control_buyers', 'control_members') }} as control_hit_rate
    from per_class
),

overall as (
    select
        as_of_date,
        'all' as rfm_class,
        sum(listed_members) as listed_members,
        sum(listed_buyers) as listed_buyers,
        sum(control_members) as control_members,
        sum(control_buyers) as control_buyers,
        {{ ratio('sum(listed_buyers)', 'sum(listed_members)') }} as hit_rate,
        -- the control rate of each class weighed by the listed members of the class (classes whose
        -- listed members have no control member leave the weights)
        {{ ratio('sum(case when control_hit_rate is not null then listed_members * control_hit_rate end)',
                 'sum(case when control_hit_rate is not null then listed_members end)') }} as control_hit_rate
    from class_rates
    group by as_of_date
),

completeness as (
    -- every listed member has had the whole hit window when it ends by the last business date
    select distinct
        states.as_of_date,
        cast({{ dbt.dateadd('day', hit_days, 'states.as_of_date') }} as date) <= data_end.data_end_date as is_complete
    from states
    cross join data_end
),

report_rows as (
    select * from class_rates
    union all
    select * from overall
)

select
    report_rows.as_of_date,
    report_rows.rfm_class,
    report_rows.listed_members,
    report_rows.listed_buyers,
    case when completeness.is_complete then report_rows.hit_rate end as hit_rate,
    report_rows.control_members,
    report_rows.control_buyers,
    case when completeness.is_complete then report_rows.control_hit_rate end as control_hit_rate,
    case when completeness.is_complete then report_rows.hit_rate - report_rows.control_hit_rate end as hit_rate_lift,
    {{ hit_days }} as hit_window_days,
    completeness.is_complete,
    {{ identity_graph_column() }}
from report_rows
join completeness
    on completeness.as_of_date = report_rows.as_of_date
