{#- How a value spreads over days and places, for the types that have a spread rule (seed
    identity_identifier_types: spread_max_events_per_day, spread_max_places_per_day,
    spread_min_days). One person makes a few purchases a day, in one or two of a brand's
    stores; a number a cashier types for every shopper who has none (a placeholder no list
    names, on receipts that carry no other identifier) shows up many times a day, or in several
    stores on one day, on many days. An event is a distinct record time (the lines of one receipt
    are one event). A value is a placeholder when it exceeds either daily limit on at least
    spread_min_days days; int_identity__node_verdicts then refuses it as a link.
    Only values with enough records to exceed a limit on that many days are looked at: the scan
    of the observations joins a short list of candidates. -#}
with rules as (
    select
        identifier_type,
        spread_max_events_per_day,
        spread_max_places_per_day,
        spread_min_days,
        (least(spread_max_events_per_day, spread_max_places_per_day) + 1) * spread_min_days as min_records
    from {{ ref('identity_identifier_types') }}
    where spread_max_events_per_day is not null
      and spread_max_places_per_day is not null
      and spread_min_days is not null
),

candidates as (
    select nodes.node_num, nodes.identifier_type, nodes.identifier_value
    from {{ ref('int_identity__node_stats') }} as nodes
    join rules on rules.identifier_type = nodes.identifier_type
    where nodes.records >= rules.min_records
),

daily as (
    select
        candidates.node_num,
        cast(observed.observed_at as date) as observed_on,
        count(distinct observed.observed_at) as events,
        count(distinct observed.place) as places
    from {{ ref('int_identity__observations') }} as observed
    join candidates
        on candidates.identifier_type = observed.identifier_type
       and candidates.identifier_value = observed.identifier_value
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
        max(rules.spread_min_days) as spread_min_days
    from daily
    join candidates on candidates.node_num = daily.node_num
    join rules on rules.identifier_type = candidates.identifier_type
    group by daily.node_num
)

select
    node_num,
    active_days,
    max_events_per_day,
    max_places_per_day,
    busy_days,
    crowded_days,
    busy_days >= spread_min_days or crowded_days >= spread_min_days as is_placeholder
from per_node
