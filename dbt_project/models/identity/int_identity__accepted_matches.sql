{#- Candidate pairs (int_identity__match_pairs) whose match probability reaches
    var('identity_match_threshold') (var('identity_match_threshold_phone_differs') when both sides
    show phone digits and they disagree: a family member or a namesake is the usual cause) and
    which are the best match of at least one of the two
    members: a member does not chain through its second-best guess. Tied best matches are all
    kept (rank, not row_number): breaking the tie by component number would depend on the hash
    key, and a re-key must not change who is who. -#}
select a_num, b_num, match_probability
from (
    select
        pairs.a_num,
        pairs.b_num,
        pairs.match_probability,
        rank() over (partition by pairs.a_num order by pairs.match_probability desc) as rank_for_a,
        rank() over (partition by pairs.b_num order by pairs.match_probability desc) as rank_for_b
    from {{ ref('int_identity__match_pairs') }} as pairs
    where pairs.match_probability >= {{ var('identity_match_threshold') }}
        and (pairs.phone_level <> 'different'
             or pairs.match_probability >= {{ var('identity_match_threshold_phone_differs') }})
) as ranked
where rank_for_a = 1 or rank_for_b = 1
