{#- The alert rules are consistent: month_over_month compares with exactly one month before,
    a trailing mean with at least one, and thresholds and volumes are not negative. A row
    returned names the rule to fix in seeds/kpi_alert_rules.csv. -#}
select rule_id, comparison, window_months, threshold, min_volume
from {{ ref('kpi_alert_rules') }}
where (comparison = 'month_over_month' and window_months <> 1)
   or window_months < 1
   or threshold < 0
   or min_volume < 0
