{#- One row per official-account follower (openid) x tag (user/info/batchget tagid_list), over
    every exported version of the follower list: first/last_seen_at are the export times of the
    earliest and latest load that showed the tag; is_current - the newest export of the follower
    still shows it. Tag names from seed member_tag_dictionary (tag_source oa, the account's
    tags/get); an id missing there is dropped. The numeric list is matched as ",id," in the list
    with brackets and spaces taken out, so tag 2 never matches 102. -#}
with source as (
    select openid, tag_ids, _load_id
    from {{ source('raw', 'oa_followers') }}
),

loads as (
    select load_id, coalesce(exported_at, loaded_at) as seen_at
    from {{ ref('stg_lake__loads') }}
),

dictionary as (
    select tag_id, tag_group, tag_name
    from {{ ref('member_tag_dictionary') }}
    where tag_source = 'oa'
),

versions as (
    select
        source.openid,
        {{ dbt.concat(["','", "replace(replace(replace(coalesce(source.tag_ids, ''), '[', ''), ']', ''), ' ', '')", "','"]) }}
            as tag_list,
        loads.seen_at,
        max(loads.seen_at) over (partition by source.openid) as newest_seen_at
    from source
    join loads
        on loads.load_id = source._load_id
),

tagged as (
    select versions.openid, versions.seen_at, versions.newest_seen_at,
           dictionary.tag_id, dictionary.tag_group, dictionary.tag_name
    from versions
    join dictionary
        on versions.tag_list like {{ dbt.concat(["'%,'", "dictionary.tag_id", "',%'"]) }}
)

select
    openid,
    tag_id,
    tag_group,
    tag_name,
    min(seen_at) as first_seen_at,
    max(seen_at) as last_seen_at,
    max(seen_at) = max(newest_seen_at) as is_current
from tagged
group by openid, tag_id, tag_group, tag_name
