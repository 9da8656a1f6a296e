{#- One row per WeCom enterprise tag (tag_id) as the newest corp tag list snapshot listing it
    shows it: its current group and name (a rename keeps the id), and whether that snapshot
    flags it or its group deleted. last_listed_on is that snapshot's export day; a tag missing
    from newer snapshots is deleted too (dim_tag compares it with stg_wecom__corp_tag_snapshots,
    which keeps every snapshot). -#}
with source as (
    {{ deduplicate(source('raw', 'wecom_corp_tags'), partition_by='tag_id',
                   order_by=newest_version_first('wecom_corp_tags')) }}
)

select
    tag_id,
    tag_name,
    group_id,
    group_name,
    tag_created_at,
    group_created_at,
    tag_order,
    group_order,
    cast(coalesce(_exported_at, _loaded_at) as date) as last_listed_on,
    coalesce(tag_deleted, false) or coalesce(group_deleted, false) as is_deleted_flag,
    {{ lineage_columns('source') }}
from source
