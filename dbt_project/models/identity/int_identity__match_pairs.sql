{#- Candidate pairs of deterministic members and their Fellegi-Sunter match probability, on the
    receiver profiles (int_identity__receiver_profiles).
    Blocking (which pairs are compared at all): the same detail address; the same full name in
    the same district; the same full name and phone tail (a CRM member, who has no address); the
    same surname and phone tail in the same city.
    Comparison levels per part (seed identity_match_parameters): name exact / surname only /
    surname only at the same address (a family: u set as data, since families share surnames
    and addresses, which the independence of the parts would ignore) / different; phone tail last-4 / last-2 (where one side shows two) / different; address exact
    / same street / same district / different; a part missing on either side weighs nothing.
    The weight of a level is log2(m / u): m is set as data (how often a true pair agrees so);
    for agreeing levels u is the value's own share among the profiles (term frequency: two 张伟
    agree by chance far more often than two 欧阳翠), smoothed towards the seed's u (macro
    fs_weight); for the other levels u is the seed's.
    Prior odds of a pair: identity_match_prior / (profiles - 1). Probability = 2^w / (1 + 2^w).
    Pairs where both members hold an enforced identifier type (a CRM member id, a unionid) are
    not candidates: a probabilistic link never overrides an enforced limit. -#}
with profiles as (
    select * from {{ ref('int_identity__receiver_profiles') }}
),

params as (
    select * from {{ ref('identity_match_parameters') }}
),

enforced as (
    -- deterministic members holding an enforced type: two of them never link on receivers
    {{ enforced_components() }}
),

{%- set frequencies = {'name': 'name_hash', 'surname': 'surname_hash', 'tail4': 'tail4_hash',
                       'tail2': 'tail2_hash', 'address': 'address_hash', 'street': 'street_hash'} %}
{%- for part, column in frequencies.items() %}

{{ part }}_freq as (
    select {{ column }} as value, count(*) as holders, sum(count(*)) over () as total
    from profiles
    where {{ column }} is not null
    group by {{ column }}
),
{%- endfor %}

district_freq as (
    select province, city, district, count(*) as holders, sum(count(*)) over () as total
    from profiles
    where district is not null
    group by province, city, district
),

blocked as (
    select a.component_num as a_num, b.component_num as b_num
    from profiles as a
    join profiles as b on b.address_hash = a.address_hash and b.component_num > a.component_num
    union
    select a.component_num as a_num, b.component_num as b_num
    from profiles as a
    join profiles as b
        on b.name_hash = a.name_hash and b.district = a.district and b.city = a.city
       and b.component_num > a.component_num
    union
    select a.component_num as a_num, b.component_num as b_num
    from profiles as a
    join profiles as b
        on b.name_hash = a.name_hash and b.tail4_hash = a.tail4_hash
       and b.component_num > a.component_num
    union
    select a.component_num as a_num, b.component_num as b_num
    from profiles as a
    join profiles as b
        on b.surname_hash = a.surname_hash and b.tail4_hash = a.tail4_hash and b.city = a.city
       and b.component_num > a.component_num
),

candidates as (
    select blocked.a_num, blocked.b_num
    from blocked
    left join enforced as ea on ea.component_num = blocked.a_num
    left join enforced as eb on eb.component_num = blocked.b_num
    where ea.component_num is null or eb.component_num is null
),

compared as (
    select
        candidates.a_num,
        candidates.b_num,
        case
            when a.name_hash = b.name_hash then 'exact'
            when a.surname_hash = b.surname_hash and a.address_hash = b.address_hash then 'surname_at_address'
            when a.surname_hash = b.surname_hash then 'surname'
            when coalesce(a.surname_hash, a.name_hash) is null or coalesce(b.surname_hash, b.name_hash) is null then null
            else 'different'
        end as name_level,
        case
            when a.tail4_hash = b.tail4_hash then 'tail4'
            when a.tail4_hash is not null and b.tail4_hash is not null then 'different'
            when a.tail2_hash = b.tail2_hash then 'tail2'
            when a.tail2_hash is not null and b.tail2_hash is not null then 'different'
        end as phone_level,
        case
            when a.address_hash = b.address_hash then 'address'
            when a.street_hash = b.street_hash then 'street'
            when a.district = b.district and a.city = b.city
                 and coalesce(a.province, '') = coalesce(b.province, '') then 'district'
            when a.district is not null and b.district is not null then 'different'
        end as address_level,
        a.name_hash,
        a.surname_hash,
        a.tail4_hash,
        a.tail2_hash,
        a.address_hash,
        a.street_hash,
        a.province,
        a.city,
        a.district
    from candidates
    join profiles as a on a.component_num = candidates.a_num
    join profiles as b on b.component_num = candidates.b_num
),

weighed as (
    select
        compared.a_num,
        compared.b_num,
        compared.name_level,
        compared.phone_level,
        compared.address_level,
        coalesce({{ fs_weight('name_param', 'compared.name_level', {
            'exact': ['name_freq.holders', 'name_freq.total'],
            'surname': ['surname_freq.holders', 'surname_freq.total']}) }}, 0) as name_weight,
        coalesce({{ fs_weight('phone_param', 'compared.phone_level', {
            'tail4': ['tail4_freq.holders', 'tail4_freq.total'],
            'tail2': ['tail2_freq.holders', 'tail2_freq.total']}) }}, 0) as phone_weight,
        coalesce({{ fs_weight('address_param', 'compared.address_level', {
            'address': ['address_freq.holders', 'address_freq.total'],
            'street': ['street_freq.holders', 'street_freq.total'],
            'district': ['district_freq.holders', 'district_freq.total']}) }}, 0) as address_weight
    from compared
    left join params as name_param on name_param.comparison = 'name' and name_param.level = compared.name_level
    left join params as phone_param on phone_param.comparison = 'phone_tail' and phone_param.level = compared.phone_level
    left join params as address_param
        on address_param.comparison = 'address' and address_param.level = compared.address_level
    left join name_freq on name_freq.value = compared.name_hash
    left join surname_freq on surname_freq.value = compared.surname_hash
    left join tail4_freq on tail4_freq.value = compared.tail4_hash
    left join tail2_freq on tail2_freq.value = compared.tail2_hash
    left join address_freq on address_freq.value = compared.address_hash
    left join street_freq on street_freq.value = compared.street_hash
    left join district_freq
        on coalesce(district_freq.province, '') = coalesce(compared.province, '')
       and district_freq.city = compared.city
       and district_freq.district = compared.district
),

prior_odds as (
    select ln({{ var('identity_match_prior') }} / greatest(count(*) - 1, 1)) / ln(2) as log2_odds
    from profiles
),

scored as (
    select
        weighed.*,
        prior_odds.log2_odds + weighed.name_weight + weighed.phone_weight + weighed.address_weight as match_weight
    from weighed
    cross join prior_odds
)

select
    a_num,
    b_num,
    name_level,
    phone_level,
    address_level,
    name_weight,
    phone_weight,
    address_weight,
    match_weight,
    {#- 2^w / (1 + 2^w), computed as 1 / (1 + 2^-w) and clamped so that 2^-w cannot overflow -#}
    1.0 / (1.0 + power(2.0, -greatest(least(match_weight, 60), -60))) as match_probability
from scored
