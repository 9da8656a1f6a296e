{#- Members holding more identifiers of one type than the type allows (max_per_person), e.g.
    three CRM member ids. A sign of an over-merge the hub rules did not catch; the warn-level
    test on this model surfaces it on every build. -#}
with counted as (
    select registry.one_id, registry.identifier_type, count(*) as identifiers
    from {{ ref('identity_registry') }} as registry
    join {{ ref('int_identity__nodes') }} as nodes on nodes.node_id = registry.node_id
    where nodes.is_linkable
    group by registry.one_id, registry.identifier_type
)

select counted.one_id, counted.identifier_type, counted.identifiers, rules.max_per_person
from counted
join {{ ref('identity_identifier_types') }} as rules on rules.identifier_type = counted.identifier_type
where counted.identifiers > rules.max_per_person
