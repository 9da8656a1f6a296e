{#- Cohort retention, long format: one row per cohort kind x measure x breakdown (dimension,
    dimension_value) x cohort month x months since. Two kinds of cohort:
    * buyers: a member (one_id) joins the cohort of the month of their first valid order in the
      data, any channel - the first order mart_repurchase_monthly counts as a new buyer (brand
      row). Measures at months_since k (calendar month cohort_month + k):
        - repurchased: bought again in that month, a valid order booked in it other than the
          first order (k = 0: a second order in the first month);
        - active: at the end of that month the last valid order is at most the lifecycle 'active'
          window (seed member_lifecycle_stages, 90 days) old, as mart_member_rfm_lifecycle would
          call the member new or active with that month's last day as its as-of date;
      breakdowns: acquisition_channel = the channel of the first order; store = the member's
      home store (dim_member, as of the end of the data);
    * fans: a member joins the cohort of the month of their first WeCom relationship spell
      (fct_wecom_relationships, the earliest started_at); members with a spell that began
      before the data (start unknown) are left out - their first add is not known. Measures:
        - friend: a WeCom relationship of the member, with any guide, is live at the month's end
          (macro live_at at next_month_start_at, as mart_fans_monthly counts fans);
        - bought: a valid order booked in that month, at or after the first add;
      breakdowns: acquisition_channel = the first spell's acquisition_channel (the paid media
      behind its state code, no_spend, no_state_code); store = the store of its guide.
    Every cohort month of the window (int_calendar__months) with members gets every months_since
    up to the last month of the data, 0 where nobody was retained. -#}
{%- set cohort_keys = 'cohort_kind, one_id, cohort_month, acquisition_channel, store_code' -%}
with months as (
    select month, next_month_start_at, is_complete from {{ ref('int_calendar__months') }}
),

active_window as (
    select max(max_days) as active_days
    from {{ ref('member_lifecycle_stages') }}
    where stage = 'active'
),

valid_orders as {{ inline_cte() }} (
    select order_key, one_id, channel, booked_at, cast(booked_at as date) as booked_date, order_month
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
),

members as (
    select one_id, home_store_code from {{ ref('dim_member') }}
),

first_orders as (
    select one_id, order_key, channel, order_month
    from (
        select
            valid_orders.*,
            row_number() over (partition by one_id order by booked_at, order_key) as order_seq
        from valid_orders
    ) as sequenced
    where order_seq = 1
),

buyer_cohorts as (
    select
        'buyers' as cohort_kind,
        first_orders.one_id,
        first_orders.order_month as cohort_month,
        first_orders.channel as acquisition_channel,
        members.home_store_code as store_code,
        first_orders.order_key as first_order_key
    from first_orders
    left join members
        on members.one_id = first_orders.one_id
),

buyer_repurchased as (
    select distinct valid_orders.one_id, valid_orders.order_month as month
    from valid_orders
    join buyer_cohorts
        on buyer_cohorts.one_id = valid_orders.one_id
    where valid_orders.order_key <> buyer_cohorts.first_order_key
),

buyer_active as (
    -- an order keeps its buyer active at every month end from its own date to active_days later
    -- (at most four month ends per order, instead of every buyer x every month)
    select distinct valid_orders.one_id, months.month
    from valid_orders
    cross join active_window
    join months
        on months.month >= valid_orders.order_month
       and cast(months.next_month_start_at as date)
           <= cast({{ dbt.dateadd('day', 'active_window.active_days + 1', 'valid_orders.booked_date') }} as date)
),

spells as (
    select one_id, started_at, ended_at, acquisition_channel, store_code, spell_id,
           started_at as live_from, ended_at as live_until
    from {{ ref('fct_wecom_relationships') }}
    where one_id is not null
),

fan_firsts as (
    select one_id, started_at, acquisition_channel, store_code
    from (
        select
            spells.*,
            row_number() over (partition by one_id order by started_at, spell_id) as spell_seq,
            max(case when started_at is null then 1 else 0 end) over (partition by one_id) as began_before_data
        from spells
    ) as sequenced
    where spell_seq = 1 and began_before_data = 0
),

fan_cohorts as (
    select
        'fans' as cohort_kind,
        one_id,
        {{ month_of('started_at') }} as cohort_month,
        acquisition_channel,
        store_code,
        started_at as first_added_at
    from fan_firsts
),

fan_friend as (
    select distinct spells.one_id, months.month
    from fan_cohorts
    join spells
        on spells.one_id = fan_cohorts.one_id
    join months
        on months.month >= fan_cohorts.cohort_month
       and {{ live_at('spells', 'months.next_month_start_at') }}
),

fan_bought as (
    select distinct valid_orders.one_id, valid_orders.order_month as month
    from valid_orders
    join fan_cohorts
        on fan_cohorts.one_id = valid_orders.one_id
       and fan_cohorts.first_added_at <= valid_orders.booked_at
),

cohorts as (
    -- a member's breakdown values ('unknown' where there is none)
    select
        cohort_kind, one_id, cohort_month,
        coalesce(acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(store_code, 'unknown') as store_code
    from (
        select {{ cohort_keys }} from buyer_cohorts
        union all
        select {{ cohort_keys }} from fan_cohorts
    ) as both_kinds
),

retained_months as (
    select 'buyers' as cohort_kind, 'repurchased' as measure, one_id, month from buyer_repurchased
    union all
    select 'buyers' as cohort_kind, 'active' as measure, one_id, month from buyer_active
    union all
    select 'fans' as cohort_kind, 'friend' as measure, one_id, month from fan_friend
    union all
    select 'fans' as cohort_kind, 'bought' as measure, one_id, month from fan_bought
),

measures as (
    select 'buyers' as cohort_kind, 'repurchased' as measure
    union all select 'buyers' as cohort_kind, 'active' as measure
    union all select 'fans' as cohort_kind, 'friend' as measure
    union all select 'fans' as cohort_kind, 'bought' as measure
),

{#- the three breakdowns: a cohort member is in one cell of each, so every figure below is counted
    once per cell (kind, cohort month, acquisition channel, store) and summed per breakdown, not
    counted over member rows repeated once per breakdown (44.6M join rows at 1M) -#}
{%- set breakdowns = [('all', "'all'"), ('acquisition_channel', 'acquisition_channel'), ('store', 'store_code')] %}

cohort_cells as (
    select cohorts.cohort_kind, cohorts.cohort_month, cohorts.acquisition_channel, cohorts.store_code,
           count(*) as members
    from cohorts
    join months
        on months.month = cohorts.cohort_month
    group by cohorts.cohort_kind, cohorts.cohort_month, cohorts.acquisition_channel, cohorts.store_code
),

cohort_sizes as (
    {{- sum_per_breakdown('cohort_cells', 'cohort_kind, cohort_month', 'members', 'cohort_size', breakdowns) }}
),

retained_cells as (
    select
        cohorts.cohort_kind,
        retained_months.measure,
        cohorts.cohort_month,
        cohorts.acquisition_channel,
        cohorts.store_code,
        retained_months.month,
        count(*) as retained
    from cohorts
    join retained_months
        on retained_months.cohort_kind = cohorts.cohort_kind
       and retained_months.one_id = cohorts.one_id
       and retained_months.month >= cohorts.cohort_month
    group by cohorts.cohort_kind, retained_months.measure, cohorts.cohort_month, cohorts.acquisition_channel,
             cohorts.store_code, retained_months.month
),

retained as (
    {{- sum_per_breakdown('retained_cells', 'cohort_kind, measure, cohort_month, month', 'retained', 'retained',
                          breakdowns) }}
),

grid as (
    select
        cohort_sizes.*,
        measures.measure,
        months.month,
        months.is_complete,
        {{ dbt.datediff('cohort_sizes.cohort_month', 'months.month', 'month') }} as months_since
    from cohort_sizes
    join measures
        on measures.cohort_kind = cohort_sizes.cohort_kind
    join months
        on months.month >= cohort_sizes.cohort_month
)

select
    grid.cohort_kind,
    grid.measure,
    grid.dimension,
    grid.dimension_value,
    grid.cohort_month,
    grid.months_since,
    grid.month as activity_month,
    grid.cohort_size,
    coalesce(retained.retained, 0) as retained,
    {{ ratio('coalesce(retained.retained, 0)', 'grid.cohort_size') }} as rate,
    grid.is_complete,
    {{ identity_graph_column() }}
from grid
left join retained
    on retained.cohort_kind = grid.cohort_kind
   and retained.measure = grid.measure
   and retained.cohort_month = grid.cohort_month
   and retained.dimension = grid.dimension
   and retained.dimension_value = grid.dimension_value
   and retained.month = grid.month
