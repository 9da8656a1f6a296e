{#- Tag name history (标签改名记录), one row per WeCom enterprise tag x group and name it was listed
    under in the corp tag list snapshots (stg_wecom__corp_tags): when that name was first and
    last listed and in how many snapshots. A rename keeps the tag_id, so a tag renamed once has
    two rows; is_current_name marks the name of the newest snapshot listing the tag (the name
    dim_tag and mart_member_tags show). A name given up and later taken back is one row spanning
    both periods (snapshots counts the days it was listed). -#}
with snapshots as (
    select snapshot_on, tag_id, tag_name, group_id, group_name
    from {{ ref('stg_wecom__corp_tag_snapshots') }}
),

last_listed as (
    select tag_id, max(snapshot_on) as last_listed_on
    from snapshots
    group by tag_id
),

current_names as (
    select snapshots.tag_id, snapshots.group_id, snapshots.group_name, snapshots.tag_name
    from snapshots
    join last_listed
        on last_listed.tag_id = snapshots.tag_id
       and last_listed.last_listed_on = snapshots.snapshot_on
),

names as (
    select
        tag_id,
        group_id,
        group_name,
        tag_name,
        min(snapshot_on) as first_listed_on,
        max(snapshot_on) as last_listed_on,
        count(*) as snapshots
    from snapshots
    group by tag_id, group_id, group_name, tag_name
)

select
    'wecom_enterprise' as tag_source,
    names.tag_id,
    names.group_id,
    names.group_name as tag_group,
    names.tag_name,
    names.first_listed_on,
    names.last_listed_on,
    names.snapshots,
    current_names.tag_id is not null as is_current_name
from names
left join current_names
    on current_names.tag_id = names.tag_id
   and current_names.group_id = names.group_id
   and current_names.group_name = names.group_name
   and current_names.tag_name = names.tag_name
