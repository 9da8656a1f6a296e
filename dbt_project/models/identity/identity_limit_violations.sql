{#- Members that break an identifier limit (seed identity_identifier_types), a sign of an
    over-merge the other rules did not catch; the warn-level test on this model surfaces it on
    every build. Two kinds:
    * 'over max_per_person': more values of one type than a person may hold (three CRM member ids);
    * 'groups joined by weak links': two cores (int_identity__cores) that each hold a value of an
      enforced type ended in one member through a chain of shared phones that no single phone
      makes visible (int_identity__limit_conflicts refuses the phone that touches both). -#}
with rules as (
    select * from {{ ref('identity_identifier_types') }}
),

counted as (
    select registry.one_id, registry.identifier_type, count(*) as identifiers
    from {{ ref('identity_registry') }} as registry
    join {{ ref('int_identity__nodes') }} as nodes on nodes.node_id = registry.node_id
    where nodes.is_linkable
    group by registry.one_id, registry.identifier_type
),

core_members as (
    select distinct cores.core_num, members.one_id
    from {{ ref('int_identity__cores') }} as cores
    join {{ ref('int_identity__node_members') }} as members on members.node_num = cores.node_num
),

joined_cores as (
    -- as int_identity__limit_conflicts: holders under one name, up to max_per_person, are one person
    select core_members.one_id, holders.identifier_type, count(*) as identifiers
    from {{ ref('int_identity__core_holders') }} as holders
    join core_members on core_members.core_num = holders.core_num
    join rules on rules.identifier_type = holders.identifier_type
    group by core_members.one_id, holders.identifier_type, rules.max_per_person
    having {{ holders_conflict() }}
),

violations as (
    select one_id, identifier_type, 'over max_per_person' as violation, identifiers from counted
    union all
    select one_id, identifier_type, 'groups joined by weak links' as violation, identifiers from joined_cores
)

select violations.*, rules.max_per_person, rules.limit_policy
from violations
join rules on rules.identifier_type = violations.identifier_type
where violations.violation <> 'over max_per_person' or violations.identifiers > rules.max_per_person
