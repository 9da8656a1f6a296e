{#- Append-only log of one_id merges and splits, for BI users to remap saved ids.
    merge: `absorbed_one_id` now belongs to `one_id` (the survivor: the older id, then the
    one with more records; int_identity__id_pairs).
    split: some identifiers of `one_id` left it and now belong to `new_one_id`.
    Each build appends its own events (run_at, invocation_id). -#}
{{ config(materialized='incremental', incremental_strategy='append') }}

with pairs as (
    select * from {{ ref('int_identity__id_pairs') }}
),

assignments as (
    select * from {{ ref('int_identity__assignments') }}
),

merge_changes as (
    select
        'merge' as change_type,
        assignments.one_id,
        pairs.one_id as other_one_id,
        pairs.shared_nodes as identifiers_moved
    from pairs
    join assignments on assignments.component_num = pairs.component_num
    where pairs.is_owner and not pairs.is_kept
),

split_changes as (
    select
        'split' as change_type,
        pairs.one_id,
        assignments.one_id as other_one_id,
        pairs.shared_nodes as identifiers_moved
    from pairs
    join assignments on assignments.component_num = pairs.component_num
    where not pairs.is_owner
)

select
    changes.*,
    {{ run_started_at_literal() }} as run_at,
    '{{ invocation_id }}' as invocation_id
from (select * from merge_changes union all select * from split_changes) as changes
