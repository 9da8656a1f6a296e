{#- One row per customer x guide WeCom friendship as last exported (follow_user can still list
    a relationship that was deleted: stg_wecom__contact_events is the truth for churn). -#}
with source as (
    {{ deduplicate(source('raw', 'wecom_contacts'), partition_by='external_userid, guide_userid',
                   order_by=newest_version_first('wecom_contacts')) }}
),

add_ways as (
    select * from {{ ref('wecom_add_way') }}
),

genders as (
    select * from {{ ref('code_map') }} where code_list = 'gender'
)

select
    source.external_userid,
    source.guide_userid,
    'wecom' as channel,
    case source.contact_type
        when 1 then 'wechat'
        when 2 then 'wecom'
    end as contact_kind,
    source.unionid,
    source.gender as source_gender,
    {{ code_or_unknown('genders.code', 'source.gender') }} as gender,
    source.added_at,
    source.add_way,
    {{ code_or_unknown('add_ways.add_way_name', 'source.add_way') }} as add_way_name,
    source.state as state_code,
    source.oper_userid,
    source.tags as tags_json,
    source.remark_mobile_hash,
    source.remark_mobile_status,
    {{ lineage_columns('source') }}
from source
left join add_ways
    on add_ways.add_way = source.add_way
left join genders
    on {{ code_matches('genders.source_value', 'source.gender') }}
