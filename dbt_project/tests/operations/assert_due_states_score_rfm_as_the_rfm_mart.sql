{#- The repurchase-due states score RFM themselves on every as-of date (the hit-rate back-test
    compares like with like); on the latest business date they must agree with
    mart_member_rfm_lifecycle, the one RFM the operators see. Rows: members whose recency,
    frequency, monetary or class differ, and, when var repurchase_due_as_of is unset (the list's
    date is the latest business date), buyers the states lack on that date. -#}
{%- set list_on_latest_date = var('repurchase_due_as_of', none) in (none, '') -%}
with rfm as (
    select one_id, as_of_date, recency_days, frequency, monetary, rfm_class
    from {{ ref('mart_member_rfm_lifecycle') }}
    where lifetime_orders > 0
),

states as (
    select one_id, as_of_date, recency_days, frequency, monetary, rfm_class
    from {{ ref('int_members__repurchase_due_states') }}
)

select rfm.one_id, rfm.rfm_class, states.rfm_class as state_rfm_class
from rfm
{{ 'left ' if list_on_latest_date }}join states
    on states.one_id = rfm.one_id
   and states.as_of_date = rfm.as_of_date
where {% if list_on_latest_date %}states.one_id is null or {% endif %}states.recency_days <> rfm.recency_days
   or states.frequency <> rfm.frequency
   or abs(states.monetary - rfm.monetary) > 0.005
   or not {{ null_safe_equals('states.rfm_class', 'rfm.rfm_class') }}
