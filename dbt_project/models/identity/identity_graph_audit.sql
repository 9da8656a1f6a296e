{#- Identifiers that were refused as links, with the reason: blocked values (placeholders,
    staff and store phones) and hubs (one value on the records of many distinct people). The
    over-merge guard of the member graph; review it when a brand onboards. -#}
select
    node_id,
    identifier_type,
    identifier_value,
    records,
    source_tables,
    widest_neighbour_type,
    widest_neighbour_count,
    case when blocked_reason is not null then {{ dbt.concat(["'blocked: '", 'blocked_reason']) }} else 'hub' end as refusal,
    first_observed_at,
    last_observed_at
from {{ ref('int_identity__nodes') }}
where not is_linkable
