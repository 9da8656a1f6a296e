{#- One row per WeCom customer group x member (customers and staff) in the latest group export,
    with the customer's member (one_id) and the owner guide's store. The export lists current
    members only: a membership has a start (joined_at) and no end. -#}
select
    groups.chat_id,
    groups.member_userid,
    groups.member_kind,
    members.one_id,
    groups.joined_at,
    {{ month_of('groups.joined_at') }} as join_month,
    groups.join_scene,
    groups.join_scene_name,
    groups.invitor_userid,
    groups.owner_userid,
    staff.employee_no as owner_employee_no,
    staff.store_code,
    groups.chat_created_at
from {{ ref('stg_wecom__group_members') }} as groups
left join {{ ref('int_wecom__customer_members') }} as members
    on members.external_userid = groups.member_userid
   and groups.member_type = 2
left join {{ ref('stg_master__staff') }} as staff
    on staff.wecom_userid = groups.owner_userid
