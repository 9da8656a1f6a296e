{#- How a value spreads over days and places, for the types that have a spread rule (seed
    identity_identifier_types: spread_max_events_per_day, spread_max_places_per_day,
    spread_min_days). One person makes a few purchases a day, in one or two of a brand's
    stores; a number a cashier types for every shopper who has none (a placeholder no list
    names, on receipts that carry no other identifier) shows up many times a day, or in several
    stores on one day, on many days. An event is a distinct record time (the lines of one receipt
    are one event). A value is a placeholder when it exceeds either daily limit on at least
    spread_min_days days; int_identity__node_verdicts then refuses it as a link. It is one too
    when it was never seen beside a person-scoped identifier (no card, no member id, no openid on
    any of its records: a number no registration anywhere holds) yet on more than
    spread_max_alone_days days: a cashier's habit number at a quiet till, one walk-in every few
    days, which no daily limit catches.
    Only values with enough records to exceed a limit on that many days are looked at: the
    observations (int_identity__observation_nodes, which keeps each one's place) are joined to a
    short list of candidates on the node number.
    Incremental by neighbourhood on DuckDB (macro incremental_by_observations, as
    int_identity__hub_scores): a value's row depends on its own observations and on whether it
    has a hub row, and both change only for the nodes on a record that gained or lost an
    observation; a nightly restages those, and a restaged value that is no candidate any more
    comes out empty and loses its row. `_build_id`: the build that restaged the value. -#}
{{ config(**incremental_by_observations('active_days')) }}

with
{%- if is_incremental() %}
restaged as (
    {{ neighbourhoods_to_restage(ref('int_identity__observation_nodes')) }}
),
{%- endif %}

rules as (
    select
        identifier_type,
        spread_max_events_per_day,
        spread_max_places_per_day,
        spread_min_days,
        spread_max_alone_days,
        least(
            (least(spread_max_events_per_day, spread_max_places_per_day) + 1) * spread_min_days,
            coalesce(spread_max_alone_days + 1, 1000000000)
        ) as min_records
    from {{ ref('identity_identifier_types') }}
    where spread_max_events_per_day is not null
      and spread_max_places_per_day is not null
      and spread_min_days is not null
),

candidates as (
    select nodes.node_num, nodes.identifier_type
    from {{ ref('int_identity__node_stats') }} as nodes
    join rules on rules.identifier_type = nodes.identifier_type
    where nodes.records >= rules.min_records
    {%- if is_incremental() %}
      and nodes.node_num in (select restaged.node_num from restaged)
    {%- endif %}
),

daily as (
    select
        candidates.node_num,
        cast(observed.observed_at as date) as observed_on,
        count(distinct observed.observed_at) as events,
        count(distinct observed.place) as places
    from {{ ref('int_identity__observation_nodes') }} as observed
    join candidates on candidates.node_num = observed.node_num
    where observed.observed_at is not null
    group by candidates.node_num, cast(observed.observed_at as date)
),

per_node as (
    select
        daily.node_num,
        count(*) as active_days,
        max(daily.events) as max_events_per_day,
        max(daily.places) as max_places_per_day,
        sum(case when daily.events > rules.spread_max_events_per_day then 1 else 0 end) as busy_days,
        sum(case when daily.places > rules.spread_max_places_per_day then 1 else 0 end) as crowded_days,
        max(rules.spread_min_days) as spread_min_days,
        max(rules.spread_max_alone_days) as spread_max_alone_days
    from daily
    join candidates on candidates.node_num = daily.node_num
    join rules on rules.identifier_type = candidates.identifier_type
    group by daily.node_num
),

spread as (
    select
        per_node.node_num,
        per_node.active_days,
        per_node.max_events_per_day,
        per_node.max_places_per_day,
        per_node.busy_days,
        per_node.crowded_days,
        hubs.node_num is null as is_alone,
        per_node.busy_days >= per_node.spread_min_days
        or per_node.crowded_days >= per_node.spread_min_days
        or (hubs.node_num is null and per_node.active_days > per_node.spread_max_alone_days) as is_placeholder
    from per_node
    -- a node with no row in the hub scores has no person-scoped identifier beside it on any record
    left join {{ ref('int_identity__hub_scores') }} as hubs on hubs.node_num = per_node.node_num
)

{{ select_node_rows('spread', ['active_days', 'max_events_per_day', 'max_places_per_day', 'busy_days',
                            'crowded_days', 'is_alone', 'is_placeholder']) }}
