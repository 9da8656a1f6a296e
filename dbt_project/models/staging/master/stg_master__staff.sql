{#- One row per employee (guide, store manager ...) from the staff master. -#}
with source as (
    {{ deduplicate(source('raw', 'staff'), partition_by='employee_no', order_by=newest_version_first('staff')) }}
),

statuses as (
    select * from {{ ref('code_map') }} where code_list = 'employment_status'
)

select
    source.employee_no,
    'master' as channel,
    source.wecom_userid,
    source.store_code,
    source.role,
    source.hired_on,
    source.left_on,
    source.employment_status as source_employment_status,
    {{ code_or_unknown('statuses.code', 'source.employment_status') }} as employment_status,
    coalesce(statuses.code = 'active', source.left_on is null) as is_active,
    source.mobile_hash,
    source.mobile_status,
    {{ lineage_columns('source') }}
from source
left join statuses
    on {{ code_matches('statuses.source_value', 'source.employment_status') }}
