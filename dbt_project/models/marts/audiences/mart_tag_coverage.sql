{#- Tag coverage (标签覆盖率): one row per tag and one per tag group (coverage_level), current
    tags only: how many members (dim_member) carry it and their share of all members. A group's
    members are those with any tag of the group, so its share is not the sum of its tags' shares
    (a member can carry two tags of a WeCom group). -#}
with tags as {{ inline_cte() }} (
    select one_id, tag_source, tag_id, tag_group, tag_name
    from {{ ref('mart_member_tags') }}
    where is_current
),

total as (
    select count(*) as members from {{ ref('dim_member') }}
),

coverage as (
    select
        'tag' as coverage_level,
        tag_source,
        tag_group,
        tag_id,
        tag_name,
        count(distinct one_id) as tagged_members
    from tags
    group by tag_source, tag_group, tag_id, tag_name
    union all
    select
        'group' as coverage_level,
        tag_source,
        tag_group,
        cast(null as {{ dbt.type_string() }}) as tag_id,
        cast(null as {{ dbt.type_string() }}) as tag_name,
        count(distinct one_id) as tagged_members
    from tags
    group by tag_source, tag_group
)

select
    coverage.coverage_level,
    coverage.tag_source,
    coverage.tag_group,
    coverage.tag_id,
    coverage.tag_name,
    coverage.tagged_members,
    total.members,
    {{ ratio('coverage.tagged_members', 'total.members') }} as member_share,
    {{ identity_graph_column() }}
from coverage
cross join total
