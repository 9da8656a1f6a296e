{#- The pairs of deterministic members the Fellegi-Sunter model (int_identity__match_pairs)
    compares at all: blocking. A pair is a candidate when the two members share
    - a detail address (held by at most var identity_match_max_block members: an office
      tower's or a parcel locker's address seeds nothing);
    - the same full name by its sound (王芳, 王方, Wang Fang) with a shared phone tail (last
      four, or last two where a side shows only two: a CRM member has no address, a Douyin
      order no address and two digits) or a shared district;
    - the same surname in the same city with a shared last-four tail;
    - the same surname with a shared carrier prefix and last four (a CRM member against the
      orders of 王先生).
    Values are the sets of int_identity__receiver_values (the tails and places a member
    receives at under its own name). Pairs where both members hold an enforced identifier type
    (a CRM member id, a unionid) are no candidates: a probabilistic link never overrides an
    enforced limit. A table of its own, so that the comparisons read it rather than recompute
    the blocking joins. -#}
with profiles as (
    select * from {{ ref('int_identity__receiver_profiles') }}
),

receiver_values as (
    select component_num, part, value from {{ ref('int_identity__receiver_values') }}
),

address_holders as (
    select value, count(*) as holders
    from receiver_values
    where part = 'address'
    group by value
),

enforced as (
    -- deterministic members holding an enforced type: two of them never link on receivers
    {{ enforced_components() }}
),

keyed as (
    -- each member under its blocking keys: the name's sound (王芳 also finds 王方 and Wang Fang)
    -- or surname and city, with one of its tails or districts (a composite key, so that the
    -- self-joins below pair 张伟 with the 张伟 of the same tail, not with every 张伟)
    select profiles.component_num, profiles.phonetic_hash as k1, v.part, v.value as k2
    from profiles
    join receiver_values as v on v.component_num = profiles.component_num
    where profiles.phonetic_hash is not null and v.part in ('tail4', 'tail2', 'district')
    union all
    select profiles.component_num, {{ dbt.concat(['profiles.surname_hash', "'|'", 'profiles.city']) }} as k1,
           'surname_city_tail4' as part, v.value as k2
    from profiles
    join receiver_values as v on v.component_num = profiles.component_num
    where profiles.surname_hash is not null and profiles.city is not null and v.part = 'tail4'
    union all
    -- the surname with seven phone digits: a CRM member (no address, no city) against 王先生's orders
    select profiles.component_num, profiles.surname_hash as k1, 'surname_prefix_tail4' as part, v.value as k2
    from profiles
    join receiver_values as v on v.component_num = profiles.component_num
    where profiles.surname_hash is not null and v.part = 'prefix_tail4'
),

blocked as (
    select a.component_num as a_num, b.component_num as b_num
    from receiver_values as a
    join address_holders as f
        on f.value = a.value and f.holders <= {{ var('identity_match_max_block') }}
    join receiver_values as b
        on b.part = a.part and b.value = a.value and b.component_num > a.component_num
    where a.part = 'address'
    union
    select a.component_num as a_num, b.component_num as b_num
    from keyed as a
    join keyed as b
        on b.k1 = a.k1 and b.part = a.part and b.k2 = a.k2 and b.component_num > a.component_num
),

candidates as (
    select blocked.a_num, blocked.b_num
    from blocked
    left join enforced as ea on ea.component_num = blocked.a_num
    left join enforced as eb on eb.component_num = blocked.b_num
    where ea.component_num is null or eb.component_num is null
)

select a_num, b_num from candidates
