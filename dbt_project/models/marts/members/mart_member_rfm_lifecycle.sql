{#- One row per member (dim_member): lifecycle stage, RFM class and LTV as of the end of the data
    (as_of_date = the date of the last booked order). Valid orders only (paid, not a return
    receipt, not refunded in full; amounts net of partial refunds). Rules as data: seeds
    rfm_classes, member_lifecycle_stages, metric_parameters. Exact definitions in
    _members__models.yml. -#}
with params as (
    select
        max(case when parameter = 'rfm_window_days' then value end) as rfm_window_days,
        max(case when parameter = 'ltv_lifetime_years' then value end) as ltv_lifetime_years
    from {{ ref('metric_parameters') }}
),

as_of as (
    select max(cast(data_end_at as date)) as as_of_date from {{ ref('int_calendar__months') }}
),

valid_orders as (
    select one_id, booked_at, cast(booked_at as date) as booked_date, net_amount
    from {{ ref('fct_orders') }}
    where is_valid_order and one_id is not null
),

per_member as (
    select
        valid_orders.one_id,
        min(valid_orders.booked_at) as first_order_at,
        max(valid_orders.booked_at) as last_order_at,
        count(*) as lifetime_orders,
        sum(valid_orders.net_amount) as lifetime_net_amount,
        sum(case when valid_orders.booked_date > {{ dbt.dateadd('day', '-1 * params.rfm_window_days', 'as_of.as_of_date') }}
                 then 1 else 0 end) as frequency,
        sum(case when valid_orders.booked_date > {{ dbt.dateadd('day', '-1 * params.rfm_window_days', 'as_of.as_of_date') }}
                 then valid_orders.net_amount else 0 end) as monetary
    from valid_orders
    cross join params
    cross join as_of
    where valid_orders.booked_date <= as_of.as_of_date
    group by valid_orders.one_id
),

dated as (
    select
        per_member.*,
        {{ dbt.datediff('cast(per_member.first_order_at as date)', 'as_of.as_of_date', 'day') }} as days_since_first_order,
        {{ dbt.datediff('cast(per_member.last_order_at as date)', 'as_of.as_of_date', 'day') }} as recency_days
    from per_member
    cross join as_of
),

averages as (
    select
        avg(cast(recency_days as {{ type_double() }})) as average_recency_days,
        avg(cast(frequency as {{ type_double() }})) as average_frequency,
        avg(cast(monetary as {{ type_double() }})) as average_monetary
    from dated
),

scored as (
    select
        dated.*,
        dated.recency_days <= averages.average_recency_days as r_high,
        dated.frequency >= averages.average_frequency as f_high,
        dated.monetary >= averages.average_monetary as m_high
    from dated
    cross join averages
),

staged as (
    select one_id, stage, stage_zh
    from (
        select
            scored.one_id,
            stages.stage,
            stages.stage_zh,
            row_number() over (partition by scored.one_id order by stages.sort_order) as stage_rank
        from scored
        join {{ ref('member_lifecycle_stages') }} as stages
            on (stages.basis = 'first_order' and stages.max_days >= scored.days_since_first_order)
            or (stages.basis = 'last_order' and (stages.max_days is null or stages.max_days >= scored.recency_days))
    ) as ranked
    where stage_rank = 1
)

select
    members.one_id,
    as_of.as_of_date,
    members.fan_status,
    members.owner_guide_employee_no,
    members.home_store_code,
    scored.first_order_at,
    scored.last_order_at,
    coalesce(scored.lifetime_orders, 0) as lifetime_orders,
    coalesce(scored.lifetime_net_amount, 0) as lifetime_net_amount,
    scored.days_since_first_order,
    scored.recency_days,
    coalesce(scored.frequency, 0) as frequency,
    coalesce(scored.monetary, 0) as monetary,
    scored.r_high,
    scored.f_high,
    scored.m_high,
    classes.rfm_class,
    classes.rfm_class_zh,
    coalesce(staged.stage, 'prospect') as lifecycle_stage,
    case when staged.stage is null then '潜客' else staged.stage_zh end as lifecycle_stage_zh,
    {{ ratio('scored.monetary', 'scored.frequency') }} as aov,
    case when scored.one_id is not null
         then cast(scored.frequency as {{ type_double() }}) * 365 / params.rfm_window_days end as yearly_frequency,
    case when scored.one_id is not null
         then coalesce({{ ratio('scored.monetary', 'scored.frequency') }}, 0)
              * (cast(scored.frequency as {{ type_double() }}) * 365 / params.rfm_window_days)
              * params.ltv_lifetime_years end as ltv,
    {{ identity_graph_column() }}
from {{ ref('dim_member') }} as members
cross join as_of
cross join params
left join scored
    on scored.one_id = members.one_id
left join {{ ref('rfm_classes') }} as classes
    on classes.r_high = scored.r_high
   and classes.f_high = scored.f_high
   and classes.m_high = scored.m_high
left join staged
    on staged.one_id = members.one_id
