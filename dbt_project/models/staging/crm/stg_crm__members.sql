{#- One row per loyalty CRM member as last exported. -#}
with source as (
    {{ deduplicate(source('raw', 'crm_members'), partition_by='member_id', order_by=newest_version_first('crm_members')) }}
),

genders as (
    select * from {{ ref('code_map') }} where code_list = 'gender'
)

select
    source.member_id,
    'crm' as channel,
    source.card_no,
    source.mobile_hash,
    source.mobile_status,
    source.mobile_prefix,
    source.mobile_tail4_hash,
    source.mobile_tail2_hash,
    source.unionid,
    source.member_name_hash,
    source.member_name_surname_hash,
    source.member_name_phonetic_hash,
    source.register_channel,
    source.register_store_code,
    source.exclusive_guide_id as owner_guide_employee_no,
    source.level as member_level,
    source.points,
    source.birthday_month as birth_month,
    source.gender as source_gender,
    {{ code_or_unknown('genders.code', 'source.gender') }} as gender,
    coalesce(source.opt_out, false) as is_opted_out,
    source.registered_at,
    {{ lineage_columns('source') }}
from source
left join genders
    on {{ code_matches('genders.source_value', 'source.gender') }}
