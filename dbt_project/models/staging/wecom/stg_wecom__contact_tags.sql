{#- One row per customer x guide WeCom friendship x enterprise tag the guide set on it, over every
    exported version of the contact list (follow_user.tags of externalcontact/get or
    follow_info.tag_id of batch/get_by_user). first/last_seen_at are the export times of the
    earliest and latest load that showed the tag; is_current - the newest export of the friendship
    still shows it. The tag's group and name come from seed member_tag_dictionary (the brand's
    get_corp_tag_list) by tag_id, which both API shapes carry: a tag_id missing from the seed is
    dropped here and counted in quality by the seed's tests, not guessed. Personal tags (type 2)
    carry no tag_id in either shape and are not resolved. -#}
with source as (
    select external_userid, guide_userid, tags, _load_id
    from {{ source('raw', 'wecom_contacts') }}
),

loads as (
    select load_id, coalesce(exported_at, loaded_at) as seen_at
    from {{ ref('stg_lake__loads') }}
),

dictionary as (
    select tag_id, tag_group, tag_name
    from {{ ref('member_tag_dictionary') }}
    where tag_source = 'wecom_enterprise'
),

versions as (
    select source.external_userid, source.guide_userid, source.tags, loads.seen_at,
           max(loads.seen_at) over (partition by source.external_userid, source.guide_userid) as newest_seen_at
    from source
    join loads
        on loads.load_id = source._load_id
),

tagged as (
    select versions.external_userid, versions.guide_userid, versions.seen_at, versions.newest_seen_at,
           dictionary.tag_id, dictionary.tag_group, dictionary.tag_name
    from versions
    join dictionary
        on versions.tags like {{ dbt.concat(["'%\"'", "dictionary.tag_id", "'\"%'"]) }}
)

select
    external_userid,
    guide_userid,
    tag_id,
    tag_group,
    tag_name,
    min(seen_at) as first_seen_at,
    max(seen_at) as last_seen_at,
    max(seen_at) = max(newest_seen_at) as is_current
from tagged
group by external_userid, guide_userid, tag_id, tag_group, tag_name
