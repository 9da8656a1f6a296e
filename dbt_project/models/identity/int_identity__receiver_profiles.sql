{#- One receiver profile per deterministic component that has orders with receivers: the value
    it uses most for each part (name, surname, the name's sound, phone tail, address with its
    street and region; ties: the value of the first record by name, source table and key; never the smallest hash,
    which a re-key of the lake would reorder, nor the record hash, which differs between DuckDB
    and Spark), and how many of its orders carry a receiver. The most frequent
    value is the person's own: gifts and orders for a family member are the minority of a
    member's orders. -#}
with receivers as (
    select * from {{ ref('int_identity__receivers') }}
),

{%- set parts = {
    'name': ['receiver_name_hash'],
    'surname': ['receiver_surname_hash'],
    'phonetic': ['receiver_name_phonetic_hash'],
    'tail4': ['receiver_mobile_tail4_hash'],
    'tail2': ['receiver_mobile_tail2_hash'],
    'address': ['receiver_address_hash', 'receiver_street_hash', 'receiver_province', 'receiver_city',
                'receiver_district'],
    'district': ['receiver_district', 'receiver_city', 'receiver_province'],
} %}
{%- for part, columns in parts.items() %}

{{ part }}_mode as (
    select
        component_num,
        {{ columns | join(',\n        ') }}
    from (
        select
            component_num,
            {{ columns | join(',\n            ') }},
            row_number() over (
                partition by component_num
                order by count(*) desc, min(record_name) asc
            ) as rank_in_component
        from receivers
        where {{ columns[0] }} is not null
        group by
            component_num,
            {{ columns | join(',\n            ') }}
    ) as ranked
    where rank_in_component = 1
),
{%- endfor %}

orders as (
    select component_num, count(*) as receiver_orders
    from receivers
    group by component_num
)

select
    orders.component_num,
    orders.receiver_orders,
    name_mode.receiver_name_hash as name_hash,
    surname_mode.receiver_surname_hash as surname_hash,
    phonetic_mode.receiver_name_phonetic_hash as phonetic_hash,
    tail4_mode.receiver_mobile_tail4_hash as tail4_hash,
    tail2_mode.receiver_mobile_tail2_hash as tail2_hash,
    address_mode.receiver_address_hash as address_hash,
    address_mode.receiver_street_hash as street_hash,
    coalesce(address_mode.receiver_province, district_mode.receiver_province) as province,
    coalesce(address_mode.receiver_city, district_mode.receiver_city) as city,
    coalesce(address_mode.receiver_district, district_mode.receiver_district) as district
from orders
left join name_mode on name_mode.component_num = orders.component_num
left join surname_mode on surname_mode.component_num = orders.component_num
left join phonetic_mode on phonetic_mode.component_num = orders.component_num
left join tail4_mode on tail4_mode.component_num = orders.component_num
left join tail2_mode on tail2_mode.component_num = orders.component_num
left join address_mode on address_mode.component_num = orders.component_num
left join district_mode on district_mode.component_num = orders.component_num
