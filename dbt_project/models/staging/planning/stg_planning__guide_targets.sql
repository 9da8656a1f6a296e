{#- One row per month x guide (employee number) of the brand's plan (导购目标): the latest
    version of the month's target, with the store the plan puts the guide in. Any day of the
    month names the month, as in stg_planning__store_targets. A guide-month the plan does not
    list has no row; a guide who left keeps the targets the plan still gives her. -#}
with source as (
    {{ deduplicate(source('raw', 'guide_targets'), partition_by=month_of('target_month') ~ ', guide_employee_no',
                   order_by=newest_version_first('guide_targets')) }}
)

select
    {{ month_of('target_month') }} as month,
    guide_employee_no,
    store_code,
    'planning' as channel,
    sales_target,
    new_members_target,
    new_friends_target,
    updated_at,
    {{ lineage_columns(hashed=false) }}
from source
