{#- Pilots (试点), difference in differences: one row per pilot x KPI (seeds pilots,
    pilot_units, pilot_kpis). A pilot's units are guides or stores (pilots.unit); a guide is
    in the arm its userid is listed in, else in the arm of its store (staff master). Periods
    are whole months: before = from the month of pre_start_date to the month before the
    start's, during = from the start's month to the end's. Each unit's value per period reads
    mart_guide_activity_monthly over its months on staff (guide_days_on_staff > 0): a count
    is a mean per month, a rate the ratio of the period's sums. Units with a value in both
    periods count; DiD = mean change of the test units - mean change of the control units,
    with a Welch t interval (95%): the t quantile of the largest tabulated degrees of freedom
    at or below Welch-Satterthwaite's (seeds/student_t_quantiles; rounding down widens the
    interval). Exact definitions in _pilots__models.yml. -#}
with pilots as (
    select
        pilot,
        unit,
        {{ month_of('cast(pre_start_date as date)') }} as pre_month,
        {{ month_of('cast(start_date as date)') }} as start_month,
        {{ month_of('cast(end_date as date)') }} as end_month
    from {{ ref('pilots') }}
),

listed as (
    select pilot, arm, store_code, guide_userid from {{ ref('pilot_units') }}
),

kpis as (
    select pilot, kpi from {{ ref('pilot_kpis') }}
),

activity as (
    select * from {{ ref('mart_guide_activity_monthly') }}
    where scope in ('guide', 'store')
      and guide_days_on_staff > 0
),

kpi_values as (
    -- numerator and denominator per unit-month: a count over one month, a rate over its base
    {%- set counts = ['friend_applications', 'friend_acceptances', 'friend_adds', 'chats', 'messages',
                      'negative_feedback', 'active_guide_days'] %}
    {%- set rates = {'friend_acceptance_rate': ('friend_acceptances', 'friend_applications'),
                     'active_day_rate': ('active_guide_days', 'guide_days_on_staff')} %}
    {%- for kpi in counts %}
    select month, scope, store_code, guide_userid, '{{ kpi }}' as kpi,
           cast({{ kpi }} as {{ quanyu.type_double() }}) as numerator,
           cast(1 as {{ quanyu.type_double() }}) as denominator
    from activity
    union all
    {%- endfor %}
    {%- for kpi, parts in rates.items() %}
    select month, scope, store_code, guide_userid, '{{ kpi }}' as kpi,
           cast({{ parts[0] }} as {{ quanyu.type_double() }}) as numerator,
           cast({{ parts[1] }} as {{ quanyu.type_double() }}) as denominator
    from activity
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

unit_months as (
    -- the pilot's units with their arm and period
    select
        pilots.pilot,
        kpi_values.kpi,
        coalesce(by_guide.arm, by_store.arm) as arm,
        kpi_values.store_code,
        kpi_values.guide_userid,
        case when kpi_values.month < pilots.start_month then 'before' else 'during' end as period,
        kpi_values.numerator,
        kpi_values.denominator
    from pilots
    join kpis
        on kpis.pilot = pilots.pilot
    join kpi_values
        on kpi_values.kpi = kpis.kpi
       and kpi_values.scope = pilots.unit
       and kpi_values.month >= pilots.pre_month
       and kpi_values.month <= pilots.end_month
    left join listed as by_guide
        on by_guide.pilot = pilots.pilot
       and by_guide.guide_userid = kpi_values.guide_userid
    left join listed as by_store
        on by_store.pilot = pilots.pilot
       and by_store.guide_userid is null
       and by_store.store_code = kpi_values.store_code
    where coalesce(by_guide.arm, by_store.arm) is not null
),

unit_periods as (
    select
        pilot, kpi, arm, store_code, guide_userid, period,
        {{ ratio('sum(numerator)', 'sum(denominator)') }} as kpi_value
    from unit_months
    group by pilot, kpi, arm, store_code, guide_userid, period
),

unit_changes as (
    select
        before.pilot,
        before.kpi,
        before.arm,
        before.kpi_value as value_before,
        during.kpi_value as value_during,
        during.kpi_value - before.kpi_value as change
    from unit_periods as before
    join unit_periods as during
        on during.pilot = before.pilot
       and during.kpi = before.kpi
       and during.arm = before.arm
       and {{ null_safe_equals('during.store_code', 'before.store_code') }}
       and {{ null_safe_equals('during.guide_userid', 'before.guide_userid') }}
       and during.period = 'during'
    where before.period = 'before'
      and before.kpi_value is not null
      and during.kpi_value is not null
),

arms as (
    select
        pilot,
        kpi,
        arm,
        count(*) as units,
        avg(value_before) as mean_before,
        avg(value_during) as mean_during,
        avg(change) as mean_change,
        var_samp(change) as change_variance
    from unit_changes
    group by pilot, kpi, arm
),

did as (
    select
        test.pilot,
        test.kpi,
        test.units as test_units,
        control.units as control_units,
        test.mean_before as test_mean_before,
        test.mean_during as test_mean_during,
        control.mean_before as control_mean_before,
        control.mean_during as control_mean_during,
        test.mean_change as test_change,
        control.mean_change as control_change,
        test.mean_change - control.mean_change as did_estimate,
        test.change_variance / test.units as test_term,
        control.change_variance / control.units as control_term
    from arms as test
    join arms as control
        on control.pilot = test.pilot
       and control.kpi = test.kpi
       and control.arm = 'control'
    where test.arm = 'test'
      and test.units >= 2
      and control.units >= 2
),

welch as (
    select
        did.*,
        sqrt(test_term + control_term) as standard_error,
        case
            when test_term + control_term > 0
                then power(test_term + control_term, 2)
                     / (power(test_term, 2) / (test_units - 1) + power(control_term, 2) / (control_units - 1))
        end as degrees_of_freedom
    from did
),

quantiles as (
    select
        welch.pilot,
        welch.kpi,
        max(t.degrees_of_freedom) as table_degrees_of_freedom
    from welch
    join {{ ref('student_t_quantiles') }} as t
        on t.degrees_of_freedom <= welch.degrees_of_freedom
    group by welch.pilot, welch.kpi
)

select
    welch.pilot,
    welch.kpi,
    pilots.unit,
    pilots.pre_month,
    pilots.start_month,
    pilots.end_month,
    welch.test_units,
    welch.control_units,
    welch.test_mean_before,
    welch.test_mean_during,
    welch.control_mean_before,
    welch.control_mean_during,
    welch.test_change,
    welch.control_change,
    welch.did_estimate,
    {{ ratio('welch.did_estimate', 'welch.test_mean_before') }} as relative_effect,
    welch.standard_error,
    welch.degrees_of_freedom,
    t.t_975,
    welch.did_estimate - t.t_975 * welch.standard_error as ci_lower,
    welch.did_estimate + t.t_975 * welch.standard_error as ci_upper,
    case
        when welch.did_estimate - t.t_975 * welch.standard_error > 0 then 'increased'
        when welch.did_estimate + t.t_975 * welch.standard_error < 0 then 'decreased'
        else 'inconclusive'
    end as verdict
from welch
join pilots
    on pilots.pilot = welch.pilot
left join quantiles
    on quantiles.pilot = welch.pilot
   and quantiles.kpi = welch.kpi
left join {{ ref('student_t_quantiles') }} as t
    on t.degrees_of_freedom = quantiles.table_degrees_of_freedom
