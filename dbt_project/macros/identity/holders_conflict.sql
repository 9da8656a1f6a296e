{#- The having-condition of a group of cores holding one enforced type (int_identity__core_holders,
    aliased `holders`, with the type's seed row as `rules`): more than one holder, unless they are
    one person registered up to max_per_person times under one name. Shared by the refusal of a
    shared phone (int_identity__limit_conflicts) and the report of what slipped through
    (identity_limit_violations), so the two cannot disagree. -#}
{% macro holders_conflict(holders='holders', rules='rules') -%}
    count(*) > 1
    and not (
        count(*) <= {{ rules }}.max_per_person
        and count({{ holders }}.name_hash) = count(*)
        and count(distinct {{ holders }}.name_hash) = 1
    )
{%- endmacro %}

{#- The deterministic components (int_identity__components) holding a value of an enforced type
    (limit_policy 'enforce': a CRM member id, a unionid): two of them are never joined by a
    receiver match. -#}
{% macro enforced_components() -%}
    select distinct components.component_num
    from {{ ref('int_identity__components') }} as components
    join {{ ref('int_identity__nodes') }} as nodes on nodes.node_num = components.node_num
    join {{ ref('identity_identifier_types') }} as rules
        on rules.identifier_type = nodes.identifier_type and rules.limit_policy = 'enforce'
{%- endmacro %}
