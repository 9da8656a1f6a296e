{#- A condition naming a tag group that no tag source defines matches nobody, silently: a typo
    in seed audience_conditions fails here instead. Groups: dim_tag (WeCom corp tag list, OA
    seed), the personal tags' 个人标签, and the computed groups. -#}
select conditions.audience_id, conditions.condition_no, conditions.tag_group
from {{ ref('audience_conditions') }} as conditions
where conditions.tag_group not in (select dictionary.tag_group from {{ ref('dim_tag') }} as dictionary)
  and conditions.tag_group not in (select rules.tag_group from {{ ref('computed_tag_rules') }} as rules)
  and conditions.tag_group <> '个人标签'
