{#- Candidate pairs (int_identity__match_pairs) whose match probability reaches
    var('identity_match_threshold') and which are the best match of at least one of the two
    members: a member does not chain through its second-best guess. -#}
select a_num, b_num, match_probability
from (
    select
        pairs.a_num,
        pairs.b_num,
        pairs.match_probability,
        row_number() over (partition by pairs.a_num order by pairs.match_probability desc, pairs.b_num asc) as rank_for_a,
        row_number() over (partition by pairs.b_num order by pairs.match_probability desc, pairs.a_num asc) as rank_for_b
    from {{ ref('int_identity__match_pairs') }} as pairs
    where pairs.match_probability >= {{ var('identity_match_threshold') }}
) as ranked
where rank_for_a = 1 or rank_for_b = 1
