{#- Target attainment per store and month (门店目标达成): the plan (stg_planning__store_targets)
    against the actuals as mart_store_kpis_monthly defines them, read from it so the two agree:
    sales = store_gmv (in-store POS + mini-program orders served by the store, net of refunds),
    new members = cards_opened, new friends = new_wecom_friends. One row per month x store of
    mart_store_kpis_monthly, plus any store the plan names that it does not know. A store-month
    the plan does not list has null targets (no target is not a target of 0); attainment =
    actual / target (null when the target is null or 0), gap = actual - target. Year to date:
    sums over the window's months up to the row's, targets and actuals of the months that have
    a sales target only, so the ratio compares like with like. -#}
{%- set measures = [('sales', 'store_gmv'), ('new_members', 'cards_opened'), ('new_friends', 'new_wecom_friends')] -%}
with months as (
    select month from {{ ref('int_calendar__months') }}
),

kpis as (
    select * from {{ ref('mart_store_kpis_monthly') }}
),

targets as (
    select targets.*
    from {{ ref('stg_planning__store_targets') }} as targets
    join months
        on months.month = targets.month
),

store_keys as (
    select distinct store_code from kpis
    union
    select distinct store_code from targets
),

joined as (
    select
        months.month,
        store_keys.store_code,
        targets.store_code is not null as has_target,
        {%- for name, actual in measures %}
        targets.{{ name }}_target,
        coalesce(kpis.{{ actual }}, 0) as {{ name }}_actual{{ ',' if not loop.last }}
        {%- endfor %}
    from months
    cross join store_keys
    left join kpis
        on kpis.month = months.month
       and kpis.store_code = store_keys.store_code
    left join targets
        on targets.month = months.month
       and targets.store_code = store_keys.store_code
),

year_to_date as (
    select
        joined.*,
        sum(sales_target) over (
            partition by store_code order by month rows between unbounded preceding and current row
        ) as sales_target_ytd,
        sum(case when sales_target is not null then sales_actual end) over (
            partition by store_code order by month rows between unbounded preceding and current row
        ) as sales_actual_ytd
    from joined
)

select
    year_to_date.month,
    year_to_date.store_code,
    stores.store_name,
    year_to_date.has_target,
    {%- for name, _ in measures %}
    year_to_date.{{ name }}_target,
    year_to_date.{{ name }}_actual,
    {{ ratio('year_to_date.' ~ name ~ '_actual', 'year_to_date.' ~ name ~ '_target') }} as {{ name }}_attainment,
    year_to_date.{{ name }}_actual - year_to_date.{{ name }}_target as {{ name }}_gap,
    {%- endfor %}
    year_to_date.sales_target_ytd,
    year_to_date.sales_actual_ytd,
    {{ ratio('year_to_date.sales_actual_ytd', 'year_to_date.sales_target_ytd') }} as sales_attainment_ytd
from year_to_date
left join {{ ref('stg_master__stores') }} as stores
    on stores.store_code = year_to_date.store_code
