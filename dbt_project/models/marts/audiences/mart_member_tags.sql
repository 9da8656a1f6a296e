{#- Member tags (会员标签), one row per member (dim_member) x tag: the channel tags (WeCom
    enterprise tags guides set, official-account tags; int_member_tags__channel) and the tags the
    warehouse computes (int_member_tags__computed, with rule and version) under one set of
    columns, so an audience or a BI filter reads one table. Channel tags no longer shown by any
    export stay here with is_current false (history); audiences read current tags only. Members
    without a golden record (erased persons) are not here. -#}
with members as (
    select one_id from {{ ref('dim_member') }}
),

channel as (
    select
        one_id,
        tag_source,
        tag_id,
        tag_group,
        tag_name,
        set_by_guide_userid,
        setter_guides,
        first_seen_at,
        last_seen_at,
        is_current,
        cast(null as {{ dbt.type_int() }}) as rule_version,
        cast(null as {{ dbt.type_string() }}) as rule
    from {{ ref('int_member_tags__channel') }}
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
    tags.rule_version,
    tags.rule,
    {{ identity_graph_column() }}
from tags
join members
    on members.one_id = tags.one_id
