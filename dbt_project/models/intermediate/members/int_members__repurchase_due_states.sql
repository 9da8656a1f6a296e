{#- One row per as-of date x member who had bought by then: the member's typical repurchase
    interval, due date and RFM class as they stood on that date. As-of dates: every month's last
    day up to the latest business date (the hit-rate back-test, mart_repurchase_due_hit_rate)
    and the list's own as-of date (macro repurchase_due_as_of: var repurchase_due_as_of, else the
    latest business date).
    * purchases: valid orders (fct_orders.is_valid_order) of identified members booked on or
      before the as-of date; a purchase day is a date with at least one, so two orders of one day
      are one occasion (a split basket is not a repurchase after 0 days);
    * own interval: the median of the gaps in days between the member's consecutive purchase
      days (macro median: interpolated, 10/20/40/50 -> 30), for members with >= 2 purchase days;
    * product interval, for members with one purchase day (interval_basis product_cycle): that
      day's main product - of its valid order lines (fct_order_lines) whose product has a
      consumption cycle (dim_product.consumption_cycle_days > 0; cups and gift boxes have none),
      the product with the largest paid amount (ties: the longer cycle, then the merchant code) -
      and the days its units last: units bought that day x the cycle (two 30-day bags last 60
      days). A one-purchase member's only purchase day is their first, so only first days are read;
    * brand interval: the median of every member's gaps up to the as-of date - the fallback for
      members with one purchase day and no product with a cycle on it (interval_basis
      brand_median);
    * typical_interval_days: the interval rounded half up to whole days; due_date = the last
      purchase day + typical_interval_days (null when a one-purchase member's day has no product
      with a cycle while no member has bought twice: due_status no_interval, never due); due when
      as_of_date < due_date <= as_of_date + var repurchase_due_window_days (7);
    * RFM as mart_member_rfm_lifecycle scores it, on that date: recency from the last purchase
      day, frequency and monetary over the seed metric_parameters window (365 days), each high
      against the average of the members who had bought by then, class from seed rfm_classes.
    Opt-out and owner guide are not applied here (they are known as of the end of the data
    only): the marts that list members do it. -#}
{%- set window_days = var('repurchase_due_window_days', 7) -%}
with months as (
    select month, next_month_start_at, data_end_at from {{ ref('int_calendar__months') }}
),

params as (
    select max(case when parameter = 'rfm_window_days' then value end) as rfm_window_days
    from {{ ref('metric_parameters') }}
),

current_as_of as (
    select max({{ repurchase_due_as_of('cast(data_end_at as date)') }}) as as_of_date
    from months
),

month_ends as (
    select cast({{ dbt.dateadd('day', -1, 'next_month_start_at') }} as date) as as_of_date
    from months
    where cast({{ dbt.dateadd('day', -1, 'next_month_start_at') }} as date) <= cast(data_end_at as date)
),

candidate_dates as (
    select as_of_date from month_ends
    union
    select as_of_date from current_as_of
),

as_of_dates as (
    select
        candidate_dates.as_of_date,
        candidate_dates.as_of_date = current_as_of.as_of_date as is_current_as_of,
        month_ends.as_of_date is not null as is_month_end
    from candidate_dates
    cross join current_as_of
    left join month_ends
        on month_ends.as_of_date = candidate_dates.as_of_date
),

purchase_days as (
    select one_id, cast(booked_at as date) as booked_date, count(*) as orders, sum(net_amount) as net_amount
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
    group by one_id, cast(booked_at as date)
),

first_days as (
    select one_id, min(booked_date) as first_date
    from purchase_days
    group by one_id
),

gaps as (
    select
        purchase_days.*,
        {{ dbt.datediff('lag(booked_date) over (partition by one_id order by booked_date)', 'booked_date', 'day') }}
            as gap_days
    from purchase_days
),

first_day_products as (
    -- per member, the products with a consumption cycle bought on the first purchase day
    select
        lines.one_id,
        lines.merchant_code,
        max(products.consumption_cycle_days) as cycle_days,
        -- bigint on every engine (DuckDB sums a bigint into a hugeint)
        cast(sum(lines.qty) as {{ dbt.type_bigint() }}) as units,
        sum(lines.paid_amount) as paid_amount
    from {{ ref('fct_order_lines') }} as lines
    join first_days
        on first_days.one_id = lines.one_id
       and first_days.first_date = cast(lines.booked_at as date)
    join {{ ref('dim_product') }} as products
        on products.merchant_code = lines.merchant_code
    where lines.is_valid_order
      and lines.qty > 0
      and products.consumption_cycle_days > 0
    group by lines.one_id, lines.merchant_code
),

product_cycles as (
    select one_id, merchant_code, units, units * cycle_days as product_cycle_days
    from (
        select
            first_day_products.*,
            row_number() over (
                partition by one_id order by paid_amount desc, cycle_days desc, merchant_code asc
            ) as product_rank
        from first_day_products
    ) as ranked
    where product_rank = 1
),

dated_gaps as (
    select as_of_dates.as_of_date, gaps.*
    from as_of_dates
    join gaps
        on gaps.booked_date <= as_of_dates.as_of_date
),

gap_counts as (
    -- the brand's gaps counted by length and day: a few hundred thousand rows, where the dated
    -- gaps are a row per purchase day and as-of date
    select booked_date, gap_days, count(*) as gap_count
    from gaps
    where gap_days is not null
    group by booked_date, gap_days
),

gap_ranks as (
    select
        dated_gap_counts.*,
        sum(dated_gap_counts.gap_count) over (
            partition by dated_gap_counts.as_of_date order by dated_gap_counts.gap_days
            rows between unbounded preceding and current row
        ) as gaps_up_to,
        sum(dated_gap_counts.gap_count) over (partition by dated_gap_counts.as_of_date) as gaps_total
    from (
        select as_of_dates.as_of_date, gap_counts.gap_days, sum(gap_counts.gap_count) as gap_count
        from as_of_dates
        join gap_counts
            on gap_counts.booked_date <= as_of_dates.as_of_date
        group by as_of_dates.as_of_date, gap_counts.gap_days
    ) as dated_gap_counts
),

brand_intervals as (
    -- the median of every member's gaps by the date, interpolated as macro median does: the mean
    -- of the gaps at 0-based ranks floor((n - 1) / 2) and ceil((n - 1) / 2), read from the counts
    select
        as_of_dates.as_of_date,
        cast(middle.gaps_sum as {{ type_double() }}) / 2 as brand_median_gap_days
    from as_of_dates
    left join (
        select
            as_of_date,
            min(case when gaps_up_to > floor((gaps_total - 1) / 2) then gap_days end)
            + min(case when gaps_up_to > ceil((gaps_total - 1) / 2) then gap_days end) as gaps_sum
        from gap_ranks
        group by as_of_date
    ) as middle
        on middle.as_of_date = as_of_dates.as_of_date
),

member_states as (
    select
        dated_gaps.as_of_date,
        dated_gaps.one_id,
        sum(dated_gaps.orders) as orders_to_date,
        count(*) as purchase_days,
        count(dated_gaps.gap_days) as gaps,
        min(dated_gaps.booked_date) as first_order_date,
        max(dated_gaps.booked_date) as last_order_date,
        {{ median('dated_gaps.gap_days') }} as own_median_gap_days,
        sum(case when dated_gaps.booked_date > {{ dbt.dateadd('day', '-1 * params.rfm_window_days', 'dated_gaps.as_of_date') }}
                 then dated_gaps.orders else 0 end) as frequency,
        sum(case when dated_gaps.booked_date > {{ dbt.dateadd('day', '-1 * params.rfm_window_days', 'dated_gaps.as_of_date') }}
                 then dated_gaps.net_amount else 0 end) as monetary
    from dated_gaps
    cross join params
    group by dated_gaps.as_of_date, dated_gaps.one_id
),

intervals as (
    select
        member_states.*,
        {{ dbt.datediff('member_states.last_order_date', 'member_states.as_of_date', 'day') }} as recency_days,
        brand_intervals.brand_median_gap_days,
        case when member_states.gaps = 0 then product_cycles.product_cycle_days end as product_cycle_days,
        case when member_states.gaps = 0 then product_cycles.merchant_code end as cycle_merchant_code,
        case when member_states.gaps = 0 then product_cycles.units end as cycle_units,
        case
            when member_states.gaps > 0 then 'own_history'
            when product_cycles.product_cycle_days is not null then 'product_cycle'
            else 'brand_median'
        end as interval_basis,
        cast(floor(
            case
                when member_states.gaps > 0 then member_states.own_median_gap_days
                else coalesce(product_cycles.product_cycle_days, brand_intervals.brand_median_gap_days)
            end + 0.5
        ) as integer) as typical_interval_days
    from member_states
    join brand_intervals
        on brand_intervals.as_of_date = member_states.as_of_date
    left join product_cycles
        on product_cycles.one_id = member_states.one_id
),

averages as (
    select
        as_of_date,
        avg(cast(recency_days as {{ type_double() }})) as average_recency_days,
        avg(cast(frequency as {{ type_double() }})) as average_frequency,
        avg(cast(monetary as {{ type_double() }})) as average_monetary
    from intervals
    group by as_of_date
),

scored as (
    select
        intervals.*,
        intervals.recency_days <= averages.average_recency_days as r_high,
        intervals.frequency >= averages.average_frequency as f_high,
        intervals.monetary >= averages.average_monetary as m_high,
        cast({{ dbt.dateadd('day', 'intervals.typical_interval_days', 'intervals.last_order_date') }} as date) as due_date
    from intervals
    join averages
        on averages.as_of_date = intervals.as_of_date
)

select
    scored.as_of_date,
    as_of_dates.is_current_as_of,
    as_of_dates.is_month_end,
    scored.one_id,
    scored.orders_to_date,
    scored.purchase_days,
    scored.first_order_date,
    scored.last_order_date,
    scored.own_median_gap_days,
    scored.brand_median_gap_days,
    scored.product_cycle_days,
    scored.cycle_merchant_code,
    scored.cycle_units,
    scored.interval_basis,
    scored.typical_interval_days,
    scored.due_date,
    {{ dbt.datediff('scored.as_of_date', 'scored.due_date', 'day') }} as days_until_due,
    case
        when scored.due_date is null then 'no_interval'
        when scored.due_date <= scored.as_of_date then 'overdue'
        when scored.due_date <= cast({{ dbt.dateadd('day', window_days, 'scored.as_of_date') }} as date) then 'due'
        else 'not_yet_due'
    end as due_status,
    coalesce(
        scored.due_date > scored.as_of_date
        and scored.due_date <= cast({{ dbt.dateadd('day', window_days, 'scored.as_of_date') }} as date),
        false
    ) as is_due,
    scored.recency_days,
    scored.frequency,
    scored.monetary,
    classes.rfm_class
from scored
join as_of_dates
    on as_of_dates.as_of_date = scored.as_of_date
left join {{ ref('rfm_classes') }} as classes
    on classes.r_high = scored.r_high
   and classes.f_high = scored.f_high
   and classes.m_high = scored.m_high
