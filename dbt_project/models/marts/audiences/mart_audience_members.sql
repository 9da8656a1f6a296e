{#- Audience members (人群包), one row per audience (seed audiences) x member: the members whose
    current tags (mart_member_tags) meet every must_have condition of the audience (seed
    audience_conditions: a tag of the group whose name is one of tag_names, '|'-separated) and
    none of its must_have = false conditions. A tag the brand deleted in WeCom is never current,
    so it meets a condition only when the condition says include_deleted (any member who
    carried it, whether or not an export still shows it). Each member comes with the identifiers
    each channel needs for the outreach and the audience's version. Opted-out members (dim_member.is_opted_out: any CRM
    record opted out, PIPL) are never here, nor are erased persons (no dim_member row).
    Identifiers: the owner guide's WeCom external_userid of the member (a live friendship with the
    owner guide, fct_wecom_relationships; 1v1 or 群发 by that guide), one HMAC mobile hash of the
    member (identity_registry; the one seen last in any record, then the smallest: the SMS or ads upload
    hands it to the key holder that maps it back, raw numbers never leave the vault) and the
    unionid (official-account push). -#}
with audiences as (
    select audience_id, audience_version, audience_name from {{ ref('audiences') }}
),

conditions as (
    select audience_id, condition_no, tag_group, tag_names, must_have, include_deleted
    from {{ ref('audience_conditions') }}
),

required as (
    select audience_id, count(*) as required_conditions
    from conditions
    where must_have
    group by audience_id
),

matches as (
    select
        conditions.audience_id,
        tags.one_id,
        count(distinct case when conditions.must_have then conditions.condition_no end) as required_met,
        max(case when conditions.must_have then 0 else 1 end) as excluded_hit
    from conditions
    join {{ ref('mart_member_tags') }} as tags
        on tags.tag_group = conditions.tag_group
       and (tags.is_current or (conditions.include_deleted and tags.is_tag_deleted))
       and {{ dbt.concat(["'|'", "conditions.tag_names", "'|'"]) }} like {{ dbt.concat(["'%|'", "tags.tag_name", "'|%'"]) }}
    group by conditions.audience_id, tags.one_id
),

members as (
    select one_id, owner_guide_userid, owner_guide_employee_no, home_store_code, in_official_account
    from {{ ref('dim_member') }}
    where not is_opted_out
),

owner_friendships as (
    select members.one_id, min(relationships.external_userid) as external_userid
    from members
    join {{ ref('fct_wecom_relationships') }} as relationships
        on relationships.one_id = members.one_id
       and relationships.guide_userid = members.owner_guide_userid
       and relationships.is_live
    group by members.one_id
),

registry as {{ inline_cte() }} (
    select one_id, node_id, identifier_type, identifier_value
    from {{ ref('identity_registry') }}
    where identifier_type in ('mobile', 'unionid')
),

mobiles as (
    select
        registry.one_id,
        registry.identifier_value as mobile_hash,
        row_number() over (
            partition by registry.one_id
            order by nodes.last_observed_at desc nulls last, registry.identifier_value asc
        ) as mobile_rank
    from registry
    left join {{ ref('int_identity__node_stats') }} as nodes
        on nodes.node_id = registry.node_id
    where registry.identifier_type = 'mobile'
),

unionids as (
    select one_id, min(identifier_value) as unionid
    from registry
    where identifier_type = 'unionid'
    group by one_id
)

select
    audiences.audience_id,
    audiences.audience_version,
    audiences.audience_name,
    members.one_id,
    members.owner_guide_userid,
    members.owner_guide_employee_no,
    members.home_store_code,
    owner_friendships.external_userid as wecom_external_userid,
    mobiles.mobile_hash,
    unionids.unionid,
    owner_friendships.external_userid is not null as is_wecom_reachable,
    mobiles.mobile_hash is not null as is_sms_reachable,
    unionids.unionid is not null and members.in_official_account as is_oa_reachable,
    {{ identity_graph_column() }}
from matches
join required
    on required.audience_id = matches.audience_id
   and required.required_conditions = matches.required_met
join audiences
    on audiences.audience_id = matches.audience_id
join members
    on members.one_id = matches.one_id
left join owner_friendships
    on owner_friendships.one_id = members.one_id
left join mobiles
    on mobiles.one_id = members.one_id
   and mobiles.mobile_rank = 1
left join unionids
    on unionids.one_id = members.one_id
where matches.excluded_hit = 0
