{#- mart_member_360's list columns and their counts, and the favourite category and its share,
    must tell the same story: a member with a count of 0 has no list (and the other way round),
    a favourite has an amount, and its share of the line spend lies in [0, 1]. Rows: members
    where they disagree, with the check that failed. -#}
select one_id, 'tags vs tag_count' as failed_check
from {{ ref('mart_member_360') }}
where (tag_count = 0) <> (tags is null)
union all
select one_id, 'audience_ids vs audience_count' as failed_check
from {{ ref('mart_member_360') }}
where (audience_count = 0) <> (audience_ids is null)
union all
select one_id, 'favourite_category without amount' as failed_check
from {{ ref('mart_member_360') }}
where (favourite_category is null) <> (favourite_category_paid_amount is null)
union all
select one_id, 'favourite_category_share outside [0, 1]' as failed_check
from {{ ref('mart_member_360') }}
where favourite_category_share < 0 or favourite_category_share > 1
