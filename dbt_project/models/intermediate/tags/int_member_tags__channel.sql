{#- One row per member (one_id) x channel tag: the WeCom tags guides set on their friendships with
    the member (stg_wecom__contact_tags: enterprise tags by id, personal tags by their folded
    name) and the official-account tags of the member's followers (stg_wechat_oa__follower_tags).
    A tag two guides set is one row: set_by_guide_userid is the guide who showed it first (ties:
    the smallest userid), setter_guides how many did - so a personal tag typed by two guides for
    one member counts once. first/last_seen_at span every friendship or follower of the member;
    is_shown - at least one of them still shows it in its newest export able to show it.
    Enterprise tags are not named here (tag_group, tag_name null): mart_member_tags names them
    from dim_tag, which also says whether the brand deleted them. Records the member graph
    refused (hubs, blocked values) have no one_id and are left out. -#}
with wecom as (
    select
        members.one_id,
        tags.tag_source,
        tags.tag_id,
        case when tags.tag_source = 'wecom_personal' then '个人标签' end as tag_group,
        tags.tag_name,
        tags.guide_userid,
        tags.first_seen_at,
        tags.last_seen_at,
        tags.is_current as is_shown
    from {{ ref('stg_wecom__contact_tags') }} as tags
    join {{ ref('int_wecom__customer_members') }} as members
        on members.external_userid = tags.external_userid
),

oa as (
    select
        records.one_id,
        'oa' as tag_source,
        tags.tag_id,
        tags.tag_group,
        tags.tag_name,
        cast(null as {{ dbt.type_string() }}) as guide_userid,
        tags.first_seen_at,
        tags.last_seen_at,
        tags.is_current as is_shown
    from {{ ref('stg_wechat_oa__follower_tags') }} as tags
    join {{ ref('bridge_record_member') }} as records
        on records.source_table = 'oa_followers'
       and records.record_key = {{ record_key(['openid'], 'tags.') }}
    where records.one_id is not null
),

unioned as (
    select * from wecom
    union all
    select * from oa
),

ranked as (
    select
        unioned.*,
        row_number() over (
            partition by one_id, tag_source, tag_id order by first_seen_at, guide_userid
        ) as setter_rank
    from unioned
)

select
    one_id,
    tag_source,
    tag_id,
    max(tag_group) as tag_group,
    max(tag_name) as tag_name,
    max(case when setter_rank = 1 then guide_userid end) as set_by_guide_userid,
    count(distinct guide_userid) as setter_guides,
    min(first_seen_at) as first_seen_at,
    max(last_seen_at) as last_seen_at,
    max(case when is_shown then 1 else 0 end) = 1 as is_shown
from ranked
group by one_id, tag_source, tag_id
