{#- A condition naming a tag group that no tag source defines matches nobody, silently: a typo
    in seed audience_conditions fails here instead. -#}
select conditions.audience_id, conditions.condition_no, conditions.tag_group
from {{ ref('audience_conditions') }} as conditions
where conditions.tag_group not in (select dictionary.tag_group from {{ ref('member_tag_dictionary') }} as dictionary)
  and conditions.tag_group not in (select rules.tag_group from {{ ref('computed_tag_rules') }} as rules)
