{#- One row per period during which a member was a fan (粉丝) through a guide: a WeCom
    relationship spell (source 'wecom'), or a customer-group membership (source 'group', from
    joined_at; the group export is a snapshot of current members, so a membership never ends
    here and customers who left before the export are not seen at all). The fan is the member
    (one_id); a customer the member graph refused counts as a fan of its own, keyed by its
    external_userid. The guide of a group is its owner. store_code is the guide's store in the
    staff master. -#}
with wecom as (
    select
        'wecom' as fan_source,
        spell_id as source_id,
        external_userid,
        guide_userid,
        started_at as live_from,
        ended_at as live_until,
        end_reason,
        is_transfer_in,
        state_code
    from {{ ref('int_wecom__relationship_spells') }}
),

group_memberships as (
    select
        'group' as fan_source,
        {{ record_key(['chat_id', 'member_userid']) }} as source_id,
        member_userid as external_userid,
        owner_userid as guide_userid,
        joined_at as live_from,
        {{ dbt.cast('null', dbt.type_timestamp()) }} as live_until,
        {{ dbt.cast('null', dbt.type_string()) }} as end_reason,
        false as is_transfer_in,
        {{ dbt.cast('null', dbt.type_string()) }} as state_code
    from {{ ref('stg_wecom__group_members') }}
    where member_type = 2
      and member_userid is not null
),

spells as (
    select * from wecom
    union all
    select * from group_memberships
)

select
    spells.fan_source,
    spells.source_id,
    coalesce(members.one_id, {{ dbt.concat(["'wecom:'", 'spells.external_userid']) }}) as fan_key,
    members.one_id,
    spells.external_userid,
    spells.guide_userid,
    staff.employee_no as guide_employee_no,
    staff.store_code,
    spells.live_from,
    spells.live_until,
    spells.end_reason,
    spells.is_transfer_in,
    spells.state_code
from spells
left join {{ ref('int_wecom__customer_members') }} as members
    on members.external_userid = spells.external_userid
left join {{ ref('stg_master__staff') }} as staff
    on staff.wecom_userid = spells.guide_userid
