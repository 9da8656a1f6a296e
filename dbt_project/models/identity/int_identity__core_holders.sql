{#- Which enforced identifier types (limit_policy 'enforce') each core (int_identity__cores)
    holds, and under which name (var identity_person_names: the keyed hash of the name a
    registration carries): one known name, or null when a holder of the type in the core is
    unnamed or the holders carry several names. Read by int_identity__limit_conflicts and
    identity_limit_violations, which treat holders under one name as one person registered
    several times. -#}
with rules as (
    select * from {{ ref('identity_identifier_types') }}
),

{%- set names = var('identity_person_names', []) %}

names as (
    -- the name each registration carries, by its identifier
    {%- for src in names %}
    select '{{ src.identifier_type }}' as identifier_type, {{ src.identifier }} as identifier_value, {{ src.name }} as name_hash
    from {{ ref(src.model) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if names | length == 0 %}
    select
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as identifier_type,
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as identifier_value,
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as name_hash
    from rules
    where 1 = 0
    {%- endif %}
),

holders as (
    select
        cores.core_num,
        verdicts.identifier_type,
        case
            when count(distinct names.name_hash) = 1 and count(names.name_hash) = count(*) then min(names.name_hash)
        end as name_hash
    from {{ ref('int_identity__cores') }} as cores
    join {{ ref('int_identity__node_verdicts') }} as verdicts on verdicts.node_num = cores.node_num
    join rules on rules.identifier_type = verdicts.identifier_type
    left join names
        on names.identifier_type = verdicts.identifier_type
       and names.identifier_value = verdicts.identifier_value
    where rules.limit_policy = 'enforce'
    group by cores.core_num, verdicts.identifier_type
)

select * from holders
