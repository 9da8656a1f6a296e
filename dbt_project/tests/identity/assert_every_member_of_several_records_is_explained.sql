{#- A one_id holding more than one record has at least one row in identity_explanations: an edge,
    or the one value that joins its records (issue: no member may be held together silently). -#}
with members as (
    select one_id
    from {{ ref('bridge_record_member') }}
    where one_id is not null
    group by one_id
    having count(*) > 1
)

select members.one_id
from members
left join (select distinct one_id from {{ ref('identity_explanations') }}) as explained
    on explained.one_id = members.one_id
where explained.one_id is null
