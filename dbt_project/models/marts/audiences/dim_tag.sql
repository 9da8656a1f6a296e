{#- The tag dictionary (标签字典), one row per channel tag (tag_source x tag_id) the brand has defined:
    WeCom enterprise tags from the corp tag list (stg_wecom__corp_tags: each tag as last
    listed; stg_wecom__corp_tag_snapshots: every export day of get_corp_tag_list),
    official-account tags from seed member_tag_dictionary (the account's tags/get; no export of
    it is loaded). Personal WeCom tags have no dictionary: they
    are their own name (stg_wecom__contact_tags).
    WeCom: group and name are those of the newest snapshot listing the tag, so a renamed tag
    keeps its id and shows its new name (mart_tag_name_history has the old ones). A tag is
    deleted when the newest snapshot does not list it live: flagged "deleted" (on the tag or its
    group) in the last snapshot listing it, or gone from the newer ones. deleted_on is the first
    snapshot that no longer listed it live (the deletion happened between last_live_on and it;
    the first snapshot listing it, when it was never live). -#}
with snapshots as (
    select snapshot_on, tag_id, tag_name, group_id, group_name, is_deleted_flag
    from {{ ref('stg_wecom__corp_tag_snapshots') }}
),

snapshot_days as (
    select distinct snapshot_on from snapshots
),

newest as (
    select max(snapshot_on) as newest_on from snapshot_days
),

per_tag as (
    select
        tag_id,
        min(snapshot_on) as first_listed_on,
        max(snapshot_on) as last_listed_on,
        max(case when not is_deleted_flag then snapshot_on end) as last_live_on,
        count(*) as snapshots
    from snapshots
    group by tag_id
),

latest as (
    select tag_id, tag_name, group_id, group_name, is_deleted_flag
    from {{ ref('stg_wecom__corp_tags') }}
),

not_live_after as (
    select per_tag.tag_id, min(snapshot_days.snapshot_on) as first_not_live_on
    from per_tag
    join snapshot_days
        on snapshot_days.snapshot_on > per_tag.last_live_on
    group by per_tag.tag_id
),

wecom as (
    select
        'wecom_enterprise' as tag_source,
        per_tag.tag_id,
        latest.group_name as tag_group,
        latest.tag_name,
        latest.group_id,
        per_tag.first_listed_on,
        per_tag.last_listed_on,
        per_tag.last_live_on,
        per_tag.snapshots,
        coalesce(per_tag.last_live_on < newest.newest_on, true) as is_deleted,
        case
            when per_tag.last_live_on is null then per_tag.first_listed_on
            when per_tag.last_live_on < newest.newest_on then not_live_after.first_not_live_on
        end as deleted_on,
        case
            when per_tag.last_live_on = newest.newest_on then cast(null as {{ dbt.type_string() }})
            when latest.is_deleted_flag then 'deleted flag'
            else 'missing from newer snapshots'
        end as deletion_evidence,
        'wecom_corp_tags' as dictionary_source
    from per_tag
    join latest
        on latest.tag_id = per_tag.tag_id
    cross join newest
    left join not_live_after
        on not_live_after.tag_id = per_tag.tag_id
),

oa as (
    select
        'oa' as tag_source,
        tag_id,
        tag_group,
        tag_name,
        cast(null as {{ dbt.type_string() }}) as group_id,
        cast(null as date) as first_listed_on,
        cast(null as date) as last_listed_on,
        cast(null as date) as last_live_on,
        0 as snapshots,
        false as is_deleted,
        cast(null as date) as deleted_on,
        cast(null as {{ dbt.type_string() }}) as deletion_evidence,
        'seed member_tag_dictionary' as dictionary_source
    from {{ ref('member_tag_dictionary') }}
)

select * from wecom
union all
select * from oa
