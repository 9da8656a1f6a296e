{#- KPI alerts (经营预警): one row per rule of the seed kpi_alert_rules x month x scope whose
    metric moved past the rule's threshold against its baseline. Empty is the normal state.
    Metrics are read from the monthly marts as one long series (month, scope, store, guide,
    metric, value, volume); the baseline is the mean of the metric over the rule's
    window_months months before (month_over_month: the previous month), and a rule judges a
    month only when every one of those months has a value and the month's volume (the
    metric's denominator) reaches min_volume: small stores' rates swing on two or three
    events. Dagster's non-blocking checks kpi_alert_<rule_id> report the latest month's rows
    (orchestration/kpi_alerts.py); every month is kept here for BI. Exact definitions in
    _kpi_alerts__models.yml. -#}
with rules as (
    select * from {{ ref('kpi_alert_rules') }}
),

months as (
    select month, month_number from {{ ref('int_calendar__months') }}
),

churn as (
    select
        month, scope, store_code, guide_userid, guide_employee_no,
        'churn_rate' as metric,
        churn_rate as metric_value,
        cast(wecom_fans_at_start as {{ quanyu.type_double() }}) as volume
    from {{ ref('mart_fans_monthly') }}
),

private_domain as (
    select
        month,
        'brand' as scope,
        {{ dbt.cast('null', dbt.type_string()) }} as store_code,
        {{ dbt.cast('null', dbt.type_string()) }} as guide_userid,
        {{ dbt.cast('null', dbt.type_string()) }} as guide_employee_no,
        'private_domain_share' as metric,
        {{ ratio('private_domain_gmv', 'gmv') }} as metric_value,
        cast(gmv as {{ quanyu.type_double() }}) as volume
    from {{ ref('mart_fan_contribution_monthly') }}
),

activity as (
    select
        month, scope, store_code, guide_userid, guide_employee_no,
        'active_day_rate' as metric,
        {{ ratio('active_guide_days', 'guide_days_on_staff') }} as metric_value,
        cast(guide_days_on_staff as {{ quanyu.type_double() }}) as volume
    from {{ ref('mart_guide_activity_monthly') }}
    union all
    select
        month, scope, store_code, guide_userid, guide_employee_no,
        'friend_acceptance_rate' as metric,
        friend_acceptance_rate as metric_value,
        cast(friend_applications as {{ quanyu.type_double() }}) as volume
    from {{ ref('mart_guide_activity_monthly') }}
),

series as (
    select series_rows.*, months.month_number
    from (
        select * from churn
        union all
        select * from private_domain
        union all
        select * from activity
    ) as series_rows
    join months
        on months.month = series_rows.month
),

judged as (
    -- each rule on each month of its metric and scope
    select
        rules.rule_id,
        rules.comparison,
        rules.window_months,
        rules.direction,
        rules.change_kind,
        rules.threshold,
        rules.min_volume,
        rules.severity,
        rules.description,
        series.month,
        series.month_number,
        series.scope,
        series.store_code,
        series.guide_userid,
        series.guide_employee_no,
        series.metric,
        series.metric_value,
        series.volume
    from rules
    join series
        on series.metric = rules.metric
       and series.scope = rules.scope
),

baselines as (
    select
        judged.rule_id,
        judged.month,
        judged.scope,
        judged.store_code,
        judged.guide_userid,
        avg(earlier.metric_value) as baseline,
        count(earlier.metric_value) as baseline_months
    from judged
    join series as earlier
        on earlier.metric = judged.metric
       and earlier.scope = judged.scope
       and {{ null_safe_equals('earlier.store_code', 'judged.store_code') }}
       and {{ null_safe_equals('earlier.guide_userid', 'judged.guide_userid') }}
       and earlier.month_number >= judged.month_number - judged.window_months
       and earlier.month_number < judged.month_number
    group by judged.rule_id, judged.month, judged.scope, judged.store_code, judged.guide_userid
),

compared as (
    select
        judged.*,
        baselines.baseline,
        baselines.baseline_months,
        case
            when judged.change_kind = 'absolute' then judged.metric_value - baselines.baseline
            else {{ ratio('judged.metric_value - baselines.baseline', 'baselines.baseline') }}
        end as change
    from judged
    join baselines
        on baselines.rule_id = judged.rule_id
       and baselines.month = judged.month
       and baselines.scope = judged.scope
       and {{ null_safe_equals('baselines.store_code', 'judged.store_code') }}
       and {{ null_safe_equals('baselines.guide_userid', 'judged.guide_userid') }}
    where baselines.baseline_months = judged.window_months
      and judged.metric_value is not null
      and judged.volume >= judged.min_volume
)

select
    compared.month,
    compared.rule_id,
    compared.metric,
    compared.scope,
    compared.store_code,
    compared.guide_userid,
    compared.guide_employee_no,
    compared.severity,
    compared.comparison,
    compared.window_months,
    compared.direction,
    compared.change_kind,
    compared.metric_value,
    compared.baseline,
    compared.change,
    compared.threshold,
    compared.volume,
    compared.min_volume,
    compared.month = latest.month as is_latest_month,
    compared.description
from compared
cross join (select max(month) as month from months) as latest
where
    (compared.direction = 'rise' and compared.change >= compared.threshold)
    or (compared.direction = 'drop' and -compared.change >= compared.threshold)
