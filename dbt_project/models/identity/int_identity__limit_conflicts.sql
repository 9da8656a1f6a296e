{#- Shared phones that a limit refuses as links (Segment Unify's limits, enforced at the weak
    link). A phone is not person-scoped: a household, a parent registering a child, a couple
    share one. When a phone's records touch two cores (int_identity__cores: what the strong,
    person-scoped identifiers link on their own) that each hold a value of a type whose
    limit_policy is 'enforce' (seed identity_identifier_types: a CRM member id, a unionid), the
    phone would put two registrations or two WeChat accounts into one identity that nothing but
    the phone joins: two people. The phone then links nothing; its records that carry nothing
    else stay unresolved ('limit conflict'), and identity_graph_audit lists it.
    A duplicate registration that shares its card or unionid is in one core and still merges;
    so does one that shares only the phone when the registrations carry the same name (var
    identity_person_names: a keyed hash of the member's name) and the type allows that many
    values per person (max_per_person): the same name is the same person registered twice,
    different or unknown names are two people.
    'warn' types are only reported (identity_limit_violations). One row per refused phone: the
    enforced type with the most cores it touches (ties: the first by name). -#}
with rules as (
    select * from {{ ref('identity_identifier_types') }}
),

weak as (
    select verdicts.node_num
    from {{ ref('int_identity__node_verdicts') }} as verdicts
    where verdicts.is_linkable and not verdicts.is_person_scoped
),

weak_records as (
    select observed.record_hash, observed.node_num as weak_num, observed.observed_at
    from {{ ref('int_identity__observation_nodes') }} as observed
    join weak on weak.node_num = observed.node_num
),

touched as (
    -- the cores on the records of each weak value, and when the value was seen beside each
    select
        weak_records.weak_num,
        cores.core_num,
        min(weak_records.observed_at) as first_seen_at,
        max(weak_records.observed_at) as last_seen_at
    from weak_records
    join {{ ref('int_identity__observation_nodes') }} as observed on observed.record_hash = weak_records.record_hash
    join {{ ref('int_identity__cores') }} as cores on cores.node_num = observed.node_num
    group by weak_records.weak_num, cores.core_num
),

enforced_cores as (
    select * from {{ ref('int_identity__core_holders') }}
),

counted as (
    select
        touched.weak_num,
        enforced_cores.identifier_type,
        count(*) as cores,
        -- two holders one after the other: the carrier re-issued the number. With two holders,
        -- the earlier one's time with the number ends before the later one's begins exactly
        -- when the smallest last sighting precedes the largest first sighting; carriers re-issue
        -- a number only after it lay idle, so the gap must be var identity_recycle_min_gap_days
        case
            when count(*) = 2
                 and {{ dbt.datediff('min(touched.last_seen_at)', 'max(touched.first_seen_at)', 'day') }}
                     >= {{ var('identity_recycle_min_gap_days') }}
                then max(touched.first_seen_at)
        end as recycled_at
    from touched
    join enforced_cores on enforced_cores.core_num = touched.core_num
    join rules on rules.identifier_type = enforced_cores.identifier_type
    group by touched.weak_num, enforced_cores.identifier_type, rules.max_per_person
    having {{ holders_conflict('enforced_cores') }}
)

select node_num, conflict_type, conflicting_groups, recycled_at
from (
    select
        counted.weak_num as node_num,
        counted.identifier_type as conflict_type,
        counted.cores as conflicting_groups,
        -- recycled only when every enforced type it conflicts on says so, at one time
        case
            when count(*) over (partition by counted.weak_num)
                 = count(counted.recycled_at) over (partition by counted.weak_num)
                 and min(counted.recycled_at) over (partition by counted.weak_num)
                 = max(counted.recycled_at) over (partition by counted.weak_num)
                then counted.recycled_at
        end as recycled_at,
        row_number() over (partition by counted.weak_num order by counted.cores desc, counted.identifier_type asc)
            as rank_in_node
    from counted
) as ranked
where rank_in_node = 1
