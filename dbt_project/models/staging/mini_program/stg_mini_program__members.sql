{#- One row per mini-program openid (a mall member) as last exported. -#}
with source as (
    {{ deduplicate(source('raw', 'mp_members'), partition_by='openid', order_by=newest_version_first('mp_members')) }}
),

genders as (
    select * from {{ ref('code_map') }} where code_list = 'gender'
)

select
    source.openid,
    'mini_program' as channel,
    source.unionid,
    source.card_no,
    source.mobile_hash,
    source.mobile_status,
    source.country_code,
    source.registered_at,
    source.register_store_code,
    source.guide_id as owner_guide_employee_no,
    source.level as member_level,
    source.gender as source_gender,
    {{ code_or_unknown('genders.code', 'source.gender') }} as gender,
    source.birthday_month as birth_month,
    {{ lineage_columns('source') }}
from source
left join genders
    on {{ code_matches('genders.source_value', 'source.gender') }}
