{#- An audience of exclusions only would hold every member: each needs a must_have condition. -#}
select audiences.audience_id
from {{ ref('audiences') }} as audiences
left join {{ ref('audience_conditions') }} as conditions
    on conditions.audience_id = audiences.audience_id
   and conditions.must_have
where conditions.audience_id is null
