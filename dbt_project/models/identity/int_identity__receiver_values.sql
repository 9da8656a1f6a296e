{#- The phone tails and places a deterministic member receives at under its own name: every
    distinct value of the member's receiver records whose name is the member's most used one
    (int_identity__receiver_profiles), one row per (component, part, value). A person ships to
    her home, her office and her parents' home, and changes her phone: one fragment of her (a JD
    pin with two orders to the office) must still agree with another (the CRM member whose orders
    go home). Records under another name are left out: a gift to a family member carries the
    family member's phone and, for a household, the shared home; counting them would make a
    member look like whoever she sends gifts to. A member with no name at all keeps every value.
    Parts: tail4, tail2 (phone's visible last digits), prefix_tail4 (a three-digit carrier prefix
    with the last four: seven of the eleven digits), address (detail-address hash), street
    (street token hash), district (province|city|district as text). -#}
with receivers as (
    select * from {{ ref('int_identity__receivers') }}
),

profiles as (
    select component_num, name_hash from {{ ref('int_identity__receiver_profiles') }}
),

own as (
    select receivers.*
    from receivers
    join profiles on profiles.component_num = receivers.component_num
    where profiles.name_hash is null
       or coalesce(receivers.receiver_name_hash, profiles.name_hash) = profiles.name_hash
),

{#- part -> (the value's SQL, the condition a record must meet to give one) -#}
{%- set parts = {
    'tail4': ['receiver_mobile_tail4_hash', 'true'],
    'tail2': ['receiver_mobile_tail2_hash', 'true'],
    'prefix_tail4': [dbt.concat(['receiver_mobile_prefix', "'|'", 'receiver_mobile_tail4_hash']),
                     dbt.length('receiver_mobile_prefix') ~ ' = 3'],
    'address': ['receiver_address_hash', 'true'],
    'street': ['receiver_street_hash', 'true'],
    'district': [dbt.concat(["coalesce(receiver_province, '')", "'|'", "receiver_city", "'|'", "receiver_district"]),
                 'receiver_city is not null and receiver_district is not null'],
} %}

parts as (
    {%- for part, (value, condition) in parts.items() %}
    select component_num, '{{ part }}' as part, {{ value }} as value from own where {{ condition }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select component_num, part, value, count(*) as records
from parts
where value is not null
group by component_num, part, value
