{#- One row per channel tag id that the newest exports carry and no dictionary (dim_tag) names,
    with the reason: a WeCom id that no get_corp_tag_list snapshot lists (a tag created and
    deleted between two snapshots, or a snapshot missing), an OA id the seed
    member_tag_dictionary lacks. Such tags are left out of mart_member_tags. A WeCom tag listed
    by an older snapshot and deleted since is not here: dim_tag knows it (is_deleted). WeCom ids:
    the strings of a batch/get_by_user tag_id list, or the "tag_id" values of
    externalcontact/get tag objects (personal tags, type 2, have none); OA ids: the numbers of
    tagid_list. The pattern is a constant in each branch (Spark compiles a literal pattern
    once). Empty when every id is named. -#}
with wecom_ids as (
    select
        contacts.external_userid,
        {{ explode_list(
            "case when contacts.tags_json like '[{%' "
            ~ "then regexp_extract_all(contacts.tags_json, '\"tag_id\": *\"([^\"]+)\"', 1) "
            ~ "else regexp_extract_all(contacts.tags_json, '\"([^\"]+)\"', 1) end") }} as tag_id,
        contacts._source_file
    from {{ ref('stg_wecom__contacts') }} as contacts
    where contacts.tags_json is not null
),

oa_ids as (
    select
        followers.openid,
        {{ explode_list("regexp_extract_all(followers.tag_ids_json, '([0-9]+)', 1)") }} as tag_id,
        followers._source_file
    from {{ ref('stg_wechat_oa__followers') }} as followers
    where followers.tag_ids_json is not null
),

found as (
    select 'wecom_enterprise' as tag_source, tag_id, external_userid as holder, _source_file from wecom_ids
    union all
    select 'oa' as tag_source, tag_id, openid as holder, _source_file from oa_ids
),

dictionary as (
    select tag_source, tag_id from {{ ref('dim_tag') }}
)

select
    found.tag_source,
    found.tag_id,
    case found.tag_source
        when 'wecom_enterprise' then 'in no get_corp_tag_list snapshot'
        else 'not in seed member_tag_dictionary'
    end as reason,
    count(distinct found.holder) as holders,
    count(*) as records,
    count(distinct found._source_file) as source_files,
    min(found._source_file) as example_source_file
from found
left join dictionary
    on dictionary.tag_source = found.tag_source
   and dictionary.tag_id = found.tag_id
where dictionary.tag_id is null
group by found.tag_source, found.tag_id
