{#- One row per customer x guide WeCom friendship x tag the guide set on it, over every exported
    version of the contact list, two kinds (tag_source):
    - wecom_enterprise: a corp tag by tag_id - the strings of batch/get_by_user's follow_info.tag_id,
      or the type 1 / 3 objects of externalcontact/get's follow_user.tags. Not named here: the
      id is named (and marked deleted) by dim_tag from the corp tag list snapshots; an id in no
      snapshot is listed by quality_unmapped_tags.
    - wecom_personal: a personal tag (type 2: a name the guide typed, no id), only in get answers.
      tag_id is the name folded by nfkc_trim (NFKC forms, trimmed), so ' 宝妈', '宝妈　' and
      '宝妈' are one tag; tag_name is that folded name.
    first/last_seen_at are the export times (else load times) of the earliest and latest version
    that showed the tag. is_current - the newest version that can show the tag still does: for an
    enterprise tag the friendship's newest version of either API; for a personal tag its newest
    externalcontact/get version (tag_objects set), because batch/get_by_user never shows personal
    tags and its silence says nothing. Each branch reads its JSON with one constant pattern (Spark
    compiles a literal regexp once); a tag name holding a double quote is cut at it. -#}
with source as (
    select external_userid, guide_userid, tags, tag_objects, _load_id
    from {{ source('raw', 'wecom_contacts') }}
),

loads as (
    select load_id, coalesce(exported_at, loaded_at) as seen_at
    from {{ ref('stg_lake__loads') }}
),

versions as (
    select
        source.external_userid,
        source.guide_userid,
        source.tags,
        loads.seen_at,
        max(loads.seen_at) over (partition by source.external_userid, source.guide_userid) as newest_seen_at,
        max(case when source.tag_objects is not null then loads.seen_at end)
            over (partition by source.external_userid, source.guide_userid) as newest_get_seen_at
    from source
    join loads
        on loads.load_id = source._load_id
),

id_lists as (
    select
        external_userid, guide_userid, seen_at, newest_seen_at,
        {{ explode_list("regexp_extract_all(tags, '\"([^\"]+)\"', 1)") }} as tag_id
    from versions
    where substr(tags, 1, 2) = '["'
),

objects as (
    select
        external_userid, guide_userid, seen_at, newest_seen_at, newest_get_seen_at,
        {{ explode_list("regexp_extract_all(tags, '[{][^{}]*[}]', 0)") }} as tag_object
    from versions
    where substr(tags, 1, 2) = '[{'
),

parsed as (
    select
        external_userid, guide_userid, seen_at, newest_seen_at, newest_get_seen_at,
        regexp_extract(tag_object, '"type": *([0-9]+)', 1) as tag_type,
        regexp_extract(tag_object, '"tag_id": *"([^"]*)"', 1) as tag_id,
        regexp_extract(tag_object, '"tag_name": *"([^"]*)"', 1) as tag_name
    from objects
),

shown as (
    select
        external_userid, guide_userid, 'wecom_enterprise' as tag_source, tag_id,
        cast(null as {{ dbt.type_string() }}) as tag_name, seen_at, newest_seen_at as newest_able_at
    from id_lists
    union all
    select
        external_userid, guide_userid, 'wecom_enterprise' as tag_source, tag_id,
        cast(null as {{ dbt.type_string() }}) as tag_name, seen_at, newest_seen_at as newest_able_at
    from parsed
    where tag_type <> '2' and tag_id <> ''
    union all
    select
        external_userid, guide_userid, 'wecom_personal' as tag_source, {{ nfkc_trim('tag_name') }} as tag_id,
        {{ nfkc_trim('tag_name') }} as tag_name, seen_at, newest_get_seen_at as newest_able_at
    from parsed
    where tag_type = '2'
)

select
    external_userid,
    guide_userid,
    tag_source,
    tag_id,
    max(tag_name) as tag_name,
    min(seen_at) as first_seen_at,
    max(seen_at) as last_seen_at,
    max(seen_at) = max(newest_able_at) as is_current
from shown
where tag_id <> ''
group by external_userid, guide_userid, tag_source, tag_id
