{#- Candidate pairs of deterministic members and their Fellegi-Sunter match probability, on the
    receiver profiles (int_identity__receiver_profiles: the most used name and surname) and on the
    phone tails and places each member receives at under that name (int_identity__receiver_values:
    home, office, parents' home, an earlier phone).
    Candidates: int_identity__match_candidates (blocking).
    Comparison levels per part (seed identity_match_parameters): name exact / the same sound
    (toneless pinyin: a homophone typo, a name typed in pinyin) / surname only, where one side
    shows no more (王女士) / surname only, the given names differing / surname only at a shared
    address (a family: u set as data, since families share surnames
    and addresses, which the independence of the parts would ignore) / different; phone tail
    prefix and last-4 (seven digits) / last-4 (a side shows no prefix) / last-2 (where one side
    shows only two) / different (a last-four agreement whose prefixes all differ is another
    phone); address exact / same street / same district / different; a part missing on either
    side weighs nothing.
    The weight of a level is log2(m / u): m is set as data (how often a true pair agrees so);
    for agreeing levels u is the value's own share among the members (term frequency: two 张伟
    agree by chance far more often than two 欧阳翠), smoothed towards the seed's u, and, where
    sets of values meet, times the two set sizes (macro fs_weight); for the other levels u is
    the seed's. Prior odds of a pair: identity_match_prior / (profiles - 1).
    Probability = 2^w / (1 + 2^w). -#}
with profiles as (
    select * from {{ ref('int_identity__receiver_profiles') }}
),

receiver_values as (
    select component_num, part, value from {{ ref('int_identity__receiver_values') }}
),

params as (
    select * from {{ ref('identity_match_parameters') }}
),

{%- for part, column in {'name': 'name_hash', 'phonetic': 'phonetic_hash', 'surname': 'surname_hash'}.items() %}

{{ part }}_freq as (
    select {{ column }} as value, count(*) as holders, sum(count(*)) over () as total
    from profiles
    where {{ column }} is not null
    group by {{ column }}
),
{%- endfor %}

value_freq as (
    -- how many members hold each value of a part, and how many hold the part at all
    select part, value, count(*) as holders, sum(count(*)) over (partition by part) as total
    from receiver_values
    group by part, value
),

candidates as (
    select a_num, b_num from {{ ref('int_identity__match_candidates') }}
),

{%- set set_parts = ['prefix_tail4', 'tail4', 'tail2', 'address', 'street', 'district'] %}

set_sizes as (
    -- per member: how many values it holds of each part
    select
        component_num,
        {%- for part in set_parts %}
        sum(case when part = '{{ part }}' then 1 else 0 end) as {{ part }}_n{% if not loop.last %},{% endif %}
        {%- endfor %}
    from receiver_values
    group by component_num
),

pair_values as {{ materialized_cte() }} (
    -- each candidate pair with the values its first member holds, joined before the second
    -- member's values. Not the two members' values joined on (part, value) first: a district or
    -- a street is held by thousands of members, and that join is billions of rows. DuckDB's join
    -- order took it on one night's statistics at 1M members (589 s instead of 16 s the night
    -- before; 8.3 s with this order, the same pairs); materialized, the order holds.
    select candidates.a_num, candidates.b_num, va.part, va.value
    from candidates
    join receiver_values as va on va.component_num = candidates.a_num
),

agreed as (
    -- per pair and part: the rarest value both sides hold (how many members hold it, and how
    -- many hold the part)
    select
        pair_values.a_num,
        pair_values.b_num,
        {%- for part in set_parts %}
        min(case when pair_values.part = '{{ part }}' then value_freq.holders end)
            as {{ part }}_holders,
        min(case when pair_values.part = '{{ part }}' then value_freq.total end)
            as {{ part }}_total{% if not loop.last %},{% endif %}
        {%- endfor %}
    from pair_values
    join receiver_values as vb
        on vb.component_num = pair_values.b_num
       and vb.part = pair_values.part
       and vb.value = pair_values.value
    join value_freq on value_freq.part = pair_values.part and value_freq.value = pair_values.value
    group by pair_values.a_num, pair_values.b_num
),

sides as (
    select
        candidates.a_num,
        candidates.b_num,
        {%- for part in set_parts %}
        agreed.{{ part }}_holders,
        agreed.{{ part }}_total,
        nullif(sa.{{ part }}_n * sb.{{ part }}_n, 0) as {{ part }}_sets,
        {%- endfor %}
        a.name_hash as a_name,
        b.name_hash as b_name,
        a.surname_hash as a_surname,
        b.surname_hash as b_surname,
        a.phonetic_hash as a_phonetic,
        b.phonetic_hash as b_phonetic
    from candidates
    join profiles as a on a.component_num = candidates.a_num
    join profiles as b on b.component_num = candidates.b_num
    left join agreed on agreed.a_num = candidates.a_num and agreed.b_num = candidates.b_num
    left join set_sizes as sa on sa.component_num = candidates.a_num
    left join set_sizes as sb on sb.component_num = candidates.b_num
),

compared as (
    select
        sides.*,
        case
            when a_name = b_name then 'exact'
            when a_phonetic = b_phonetic then 'phonetic'
            when a_surname = b_surname and address_holders is not null then 'surname_at_address'
            -- one side names the surname only (王女士, 小王, 王**): nothing says the given names differ
            when a_surname = b_surname and (a_name is null or b_name is null) then 'surname_only_known'
            when a_surname = b_surname then 'surname'
            when coalesce(a_surname, a_name) is null or coalesce(b_surname, b_name) is null then null
            else 'different'
        end as name_level,
        case
            when prefix_tail4_holders is not null then 'prefix_tail4'
            -- the last four agree but both sides show a prefix and no prefix agrees: another phone
            when tail4_holders is not null and prefix_tail4_sets is not null then 'different'
            when tail4_holders is not null then 'tail4'
            when tail4_sets is not null then 'different'
            when tail2_holders is not null then 'tail2'
            when tail2_sets is not null then 'different'
        end as phone_level,
        case
            when address_holders is not null then 'address'
            when street_holders is not null then 'street'
            when district_holders is not null then 'district'
            when district_sets is not null then 'different'
        end as address_level
    from sides
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
            'phonetic': ['phonetic_freq.holders', 'phonetic_freq.total'],
            'surname': ['surname_freq.holders', 'surname_freq.total'],
            'surname_only_known': ['surname_freq.holders', 'surname_freq.total']}) }}, 0) as name_weight,
        coalesce({{ fs_weight('phone_param', 'compared.phone_level', {
            'prefix_tail4': ['compared.prefix_tail4_holders', 'compared.prefix_tail4_total', 'compared.prefix_tail4_sets'],
            'tail4': ['compared.tail4_holders', 'compared.tail4_total', 'compared.tail4_sets'],
            'tail2': ['compared.tail2_holders', 'compared.tail2_total', 'compared.tail2_sets']}) }}, 0) as phone_weight,
        coalesce({{ fs_weight('address_param', 'compared.address_level', {
            'address': ['compared.address_holders', 'compared.address_total', 'compared.address_sets'],
            'street': ['compared.street_holders', 'compared.street_total', 'compared.street_sets'],
            'district': ['compared.district_holders', 'compared.district_total', 'compared.district_sets']}) }}, 0)
            as address_weight
    from compared
    left join params as name_param on name_param.comparison = 'name' and name_param.level = compared.name_level
    left join params as phone_param on phone_param.comparison = 'phone_tail' and phone_param.level = compared.phone_level
    left join params as address_param
        on address_param.comparison = 'address' and address_param.level = compared.address_level
    left join name_freq on name_freq.value = compared.a_name
    left join phonetic_freq on phonetic_freq.value = compared.a_phonetic
    left join surname_freq on surname_freq.value = compared.a_surname
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
