{#- One row per calendar month of the reporting window: from the month of the first booked
    order to the month of the last one (orders, of all facts, say which months the data
    covers). Every monthly mart reports exactly these months. Months are generated from a
    0-999 number series (portable; no generate_series). -#}
with bounds as (
    select
        {{ month_of('min(booked_at)') }} as first_month,
        {{ month_of('max(booked_at)') }} as last_month,
        max(booked_at) as data_end_at
    from {{ ref('int_orders__unioned') }}
),

digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

offsets as (
    select units.d + 10 * tens.d + 100 * hundreds.d as month_offset
    from digits as units
    cross join digits as tens
    cross join digits as hundreds
),

months as (
    select
        cast({{ dbt.dateadd('month', 'offsets.month_offset', 'bounds.first_month') }} as date) as month,
        offsets.month_offset,
        bounds.data_end_at
    from bounds
    cross join offsets
    where offsets.month_offset <= {{ dbt.datediff('bounds.first_month', 'bounds.last_month', 'month') }}
)

select
    month,
    month_offset + 1 as month_number,
    cast(month as {{ dbt.type_timestamp() }}) as month_start_at,
    cast({{ dbt.dateadd('month', 1, 'month') }} as {{ dbt.type_timestamp() }}) as next_month_start_at,
    cast({{ dbt.dateadd('month', -11, 'month') }} as date) as ttm_start_month,
    case when month_offset + 1 < 12 then month_offset + 1 else 12 end as ttm_months,
    data_end_at,
    cast(data_end_at as date) >= cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month')) }} as date) as is_complete
from months
