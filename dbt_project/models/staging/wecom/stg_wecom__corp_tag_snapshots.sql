{#- One row per corp tag list snapshot (export day) x WeCom enterprise tag: the brand's
    get_corp_tag_list as it stood that day, kept for every day exported, so a tag's name and
    group over time stay queryable (a rename keeps the tag_id; mart_tag_name_history) and a
    deletion is seen - "deleted": true on the tag or its group, or the id gone from a later
    snapshot (dim_tag). stg_wecom__corp_tags holds each tag as last listed. snapshot_on is the export day (the file name's date, else its export or
    load time); the same day exported twice keeps the later export, then the later load. -#}
with source as (
    select
        group_id, group_name, group_created_at, group_order, group_deleted,
        tag_id, tag_name, tag_created_at, tag_order, tag_deleted,
        cast(coalesce(_exported_at, _loaded_at) as date) as snapshot_on,
        _exported_at, _loaded_at, _hash_key_version, _source_file, _source_row, _load_id
    from {{ source('raw', 'wecom_corp_tags') }}
),

ranked as (
    select
        source.*,
        row_number() over (
            partition by snapshot_on, tag_id
            order by _exported_at desc nulls last, {{ latest_loaded_first() }}
        ) as snapshot_rank
    from source
)

select
    snapshot_on,
    tag_id,
    tag_name,
    group_id,
    group_name,
    tag_created_at,
    group_created_at,
    tag_order,
    group_order,
    coalesce(tag_deleted, false) or coalesce(group_deleted, false) as is_deleted_flag,
    coalesce(group_deleted, false) as is_group_deleted_flag,
    {{ lineage_columns() }}
from ranked
where snapshot_rank = 1
