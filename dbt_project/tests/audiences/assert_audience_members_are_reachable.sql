{#- An audience never holds an opted-out member or a person without a golden record (erased
    persons lose their dim_member row); every member meets the audience's must_have conditions
    (through a current tag, or a deleted one where the condition says include_deleted). -#}
select members.one_id, members.audience_id, 'opted out or no golden record' as failure
from {{ ref('mart_audience_members') }} as members
left join {{ ref('dim_member') }} as golden
    on golden.one_id = members.one_id
where golden.one_id is null or golden.is_opted_out
union all
select members.one_id, members.audience_id, 'a must_have condition not met' as failure
from {{ ref('mart_audience_members') }} as members
join {{ ref('audience_conditions') }} as conditions
    on conditions.audience_id = members.audience_id
   and conditions.must_have
left join {{ ref('mart_member_tags') }} as tags
    on tags.one_id = members.one_id
   and tags.tag_group = conditions.tag_group
   and (tags.is_current or (conditions.include_deleted and tags.is_tag_deleted))
   and {{ dbt.concat(["'|'", "conditions.tag_names", "'|'"]) }} like {{ dbt.concat(["'%|'", "tags.tag_name", "'|%'"]) }}
where tags.one_id is null
