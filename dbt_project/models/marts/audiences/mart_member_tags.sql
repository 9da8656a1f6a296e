{#- Member tags (会员标签), one row per member (dim_member) x tag: the channel tags (WeCom
    enterprise and personal tags guides set, official-account tags; int_member_tags__channel) and
    the tags the warehouse computes (int_member_tags__computed, with rule and version) under one
    set of columns, so an audience or a BI filter reads one table.
    Enterprise and OA tags are named by dim_tag: a renamed WeCom tag shows its current name; a
    tag the brand deleted stays with is_tag_deleted and tag_deleted_on and is never current,
    even where a contact export still shows it; an id dim_tag does not know is left out (listed
    by quality_unmapped_tags). Channel tags no longer shown by any export stay with is_current
    false (history); audiences read current tags only unless a condition asks for deleted ones.
    Members without a golden record (erased persons) are not here. -#}
with members as (
    select one_id from {{ ref('dim_member') }}
),

dictionary as (
    select tag_source, tag_id, tag_group, tag_name, is_deleted, deleted_on
    from {{ ref('dim_tag') }}
),

channel as (
    select
        tags.one_id,
        tags.tag_source,
        tags.tag_id,
        coalesce(dictionary.tag_group, tags.tag_group) as tag_group,
        coalesce(dictionary.tag_name, tags.tag_name) as tag_name,
        tags.set_by_guide_userid,
        tags.setter_guides,
        tags.first_seen_at,
        tags.last_seen_at,
        tags.is_shown and not coalesce(dictionary.is_deleted, false) as is_current,
        coalesce(dictionary.is_deleted, false) as is_tag_deleted,
        dictionary.deleted_on as tag_deleted_on,
        cast(null as {{ dbt.type_int() }}) as rule_version,
        cast(null as {{ dbt.type_string() }}) as rule
    from {{ ref('int_member_tags__channel') }} as tags
    left join dictionary
        on dictionary.tag_source = tags.tag_source
       and dictionary.tag_id = tags.tag_id
    where tags.tag_source = 'wecom_personal' or dictionary.tag_id is not null
),

computed as (
    select
        one_id,
        tag_source,
        tag_id,
        tag_group,
        tag_name,
        cast(null as {{ dbt.type_string() }}) as set_by_guide_userid,
        0 as setter_guides,
        cast(null as {{ dbt.type_timestamp() }}) as first_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as last_seen_at,
        true as is_current,
        false as is_tag_deleted,
        cast(null as date) as tag_deleted_on,
        cast(rule_version as {{ dbt.type_int() }}) as rule_version,
        rule
    from {{ ref('int_member_tags__computed') }}
),

tags as (
    select * from channel
    union all
    select * from computed
)

select
    tags.one_id,
    tags.tag_source,
    tags.tag_id,
    tags.tag_group,
    tags.tag_name,
    tags.set_by_guide_userid,
    tags.setter_guides,
    tags.first_seen_at,
    tags.last_seen_at,
    tags.is_current,
    tags.is_tag_deleted,
    tags.tag_deleted_on,
    tags.rule_version,
    tags.rule,
    {{ identity_graph_column() }}
from tags
join members
    on members.one_id = tags.one_id
