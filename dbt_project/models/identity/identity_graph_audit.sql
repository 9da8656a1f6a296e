{#- Identifiers that were refused as links, with the reason: blocked values (listed
    placeholders, staff and store phones, and placeholders found by their spread over days and
    stores), hubs (one value on the records of many distinct people) and limit conflicts (a phone
    shared by people whose strong identifiers a limit keeps apart). The over-merge guard of the
    member graph; review it when a brand onboards. -#}
select
    node_id,
    identifier_type,
    identifier_value,
    records,
    source_tables,
    widest_neighbour_type,
    widest_neighbour_count,
    case
        when blocked_reason is not null then {{ dbt.concat(["'blocked: '", 'blocked_reason']) }}
        when is_hub then 'hub'
        else {{ dbt.concat(["'limit conflict: '", 'conflict_type']) }}
    end as refusal,
    max_events_per_day,
    max_places_per_day,
    busy_days,
    crowded_days,
    conflicting_groups,
    first_observed_at,
    last_observed_at
from {{ ref('int_identity__nodes') }}
where not is_linkable
