{#- One row per month x store of the brand's plan (门店目标): the latest version of the month's
    target. The plan names a month by a date; any day of the month names the same month (a
    planner may type the 15th), so versions are told apart per calendar month. A month or store
    the plan does not list has no row. -#}
with source as (
    {{ deduplicate(source('raw', 'store_targets'), partition_by=month_of('target_month') ~ ', store_code',
                   order_by=newest_version_first('store_targets')) }}
)

select
    {{ month_of('target_month') }} as month,
    store_code,
    'planning' as channel,
    sales_target,
    new_members_target,
    new_friends_target,
    updated_at,
    {{ lineage_columns(hashed=false) }}
from source
