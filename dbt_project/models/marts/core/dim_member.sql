{#- The golden record: one row per member (one_id). Survivorship rules, in order of trust:
    * crm_member_id, card_no, member_level, points, register_*: the member's primary CRM record,
      the earliest registered (ties: smallest member_id); duplicates are counted in crm_records;
    * is_opted_out: true when ANY of the member's CRM records opted out (the most restrictive
      consent wins, PIPL);
    * gender, birth_month: primary CRM record, else the mini-program member, else WeCom (gender);
    * owner guide (专属导购): the CRM exclusive guide while the member is still that guide's live
      WeCom friend; else the guide of the member's earliest live WeCom relationship; else the
      CRM exclusive guide; else the mini-program guide. owner_guide_source says which;
    * home store: the owner guide's store, else the CRM register store, else the mini-program
      register store;
    * fan_status: fan (a live WeCom relationship), group_only (only in a customer group),
      churned (had relationships, none live), none;
    * first_seen_at / last_seen_at: over every record of the member, all channels. -#}
with records as {{ inline_cte() }} (
    select * from {{ ref('bridge_record_member') }} where one_id is not null
),

members as (
    select
        one_id,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as source_records,
        max(case when source_table = 'crm_members' then 1 else 0 end) = 1 as in_crm,
        max(case when source_table in ('mp_members', 'mp_orders') then 1 else 0 end) = 1 as in_mini_program,
        max(case when source_table = 'oa_followers' then 1 else 0 end) = 1 as in_official_account,
        max(
            case when source_table in ('wecom_contacts', 'wecom_contact_events', 'wecom_group_members') then 1 else 0 end
        ) = 1 as in_wecom,
        max(case when source_table in ('tmall_orders', 'tmall_member_bindings') then 1 else 0 end) = 1 as in_tmall,
        max(case when source_table = 'jd_orders' then 1 else 0 end) = 1 as in_jd,
        max(case when source_table in ('douyin_orders', 'douyin_member_bindings') then 1 else 0 end) = 1 as in_douyin,
        max(case when source_table = 'pos_sales' then 1 else 0 end) = 1 as in_store_pos
    from records
    group by one_id
),

crm as (
    select records.one_id, crm.*,
           row_number() over (partition by records.one_id order by crm.registered_at nulls last, crm.member_id) as crm_rank,
           count(*) over (partition by records.one_id) as crm_records,
           max(case when crm.is_opted_out then 1 else 0 end) over (partition by records.one_id) as any_opt_out
    from records
    join {{ ref('stg_crm__members') }} as crm
        on records.source_table = 'crm_members' and records.record_key = {{ record_key(['member_id'], 'crm.') }}
),

mini_program as (
    select records.one_id, mp.*,
           row_number() over (partition by records.one_id order by mp.registered_at nulls last, mp.openid) as mp_rank
    from records
    join {{ ref('stg_mini_program__members') }} as mp
        on records.source_table = 'mp_members' and records.record_key = {{ record_key(['openid'], 'mp.') }}
),

member_contacts as (
    select distinct records.one_id, contacts.external_userid, contacts.gender
    from records
    join {{ ref('stg_wecom__contacts') }} as contacts
        on records.source_table = 'wecom_contacts'
       and records.record_key = {{ record_key(['external_userid', 'guide_userid'], 'contacts.') }}
),

external_ids as (
    -- the member's WeCom external_userids: the numbered observations filtered to one identifier
    -- type, then the value by node_num (no join on the string observations, 23 rows per member)
    select distinct records.one_id, nodes.identifier_value as external_userid
    from {{ ref('int_identity__observation_nodes') }} as observed
    join {{ ref('int_identity__node_stats') }} as nodes
        on nodes.node_num = observed.node_num
    join records
        on records.source_table = observed.source_table
       and records.record_key = observed.record_key
    where observed.identifier_type = 'wecom_external_userid'
),

relationships as (
    select external_ids.one_id, relationships.*
    from external_ids
    join {{ ref('int_wecom__relationships') }} as relationships
        on relationships.external_userid = external_ids.external_userid
),

wecom as (
    select
        one_id,
        max(case when is_live then 1 else 0 end) = 1 as has_live_relationship,
        count(*) as relationships,
        sum(case when is_live then 1 else 0 end) as live_relationships,
        min(added_at) as fan_since
    from relationships
    group by one_id
),

first_live_guide as (
    select one_id, guide_userid
    from (
        select relationships.*, row_number() over (partition by one_id order by added_at nulls last, guide_userid) as guide_rank
        from relationships
        where is_live
    ) as ranked
    where guide_rank = 1
),

groups as (
    select distinct records.one_id
    from records
    where records.source_table = 'wecom_group_members'
),

staff as (
    select employee_no, wecom_userid, store_code from {{ ref('stg_master__staff') }}
),

primary_crm as (
    select * from crm where crm_rank = 1
),

primary_mp as (
    select * from mini_program where mp_rank = 1
),

crm_guide_live as (
    select distinct primary_crm.one_id
    from primary_crm
    join staff on staff.employee_no = primary_crm.owner_guide_employee_no
    join relationships
        on relationships.one_id = primary_crm.one_id
       and relationships.guide_userid = staff.wecom_userid
       and relationships.is_live
),

wecom_gender as (
    select one_id, max(gender) as gender from member_contacts group by one_id
),

guides as (
    select
        members.one_id,
        case
            when crm_guide_live.one_id is not null then primary_crm.owner_guide_employee_no
            when first_live_guide.guide_userid is not null then live_staff.employee_no
            when primary_crm.owner_guide_employee_no is not null then primary_crm.owner_guide_employee_no
            else primary_mp.owner_guide_employee_no
        end as owner_guide_employee_no,
        case
            when crm_guide_live.one_id is not null then 'crm_exclusive_guide_live_on_wecom'
            when first_live_guide.guide_userid is not null then 'earliest_live_wecom_relationship'
            when primary_crm.owner_guide_employee_no is not null then 'crm_exclusive_guide'
            when primary_mp.owner_guide_employee_no is not null then 'mini_program_guide'
        end as owner_guide_source,
        first_live_guide.guide_userid as first_live_guide_userid
    from members
    left join primary_crm on primary_crm.one_id = members.one_id
    left join primary_mp on primary_mp.one_id = members.one_id
    left join crm_guide_live on crm_guide_live.one_id = members.one_id
    left join first_live_guide on first_live_guide.one_id = members.one_id
    left join staff as live_staff on live_staff.wecom_userid = first_live_guide.guide_userid
)

select
    members.one_id,
    registry.one_id_created_at,
    members.first_seen_at,
    members.last_seen_at,
    members.source_records,
    primary_crm.member_id as crm_member_id,
    coalesce(primary_crm.card_no, primary_mp.card_no) as card_no,
    coalesce(primary_crm.crm_records, 0) as crm_records,
    primary_crm.member_level,
    primary_crm.points,
    primary_crm.registered_at as crm_registered_at,
    primary_crm.register_channel,
    coalesce(primary_crm.any_opt_out = 1, false) as is_opted_out,
    coalesce(primary_crm.gender, primary_mp.gender,
             wecom_gender.gender) as gender,
    coalesce(primary_crm.birth_month, primary_mp.birth_month) as birth_month,
    guides.owner_guide_employee_no,
    coalesce(owner_staff.wecom_userid, guides.first_live_guide_userid) as owner_guide_userid,
    guides.owner_guide_source,
    coalesce(owner_staff.store_code, primary_crm.register_store_code, primary_mp.register_store_code) as home_store_code,
    case
        when coalesce(wecom.has_live_relationship, false) then 'fan'
        when groups.one_id is not null then 'group_only'
        when wecom.one_id is not null then 'churned'
        else 'none'
    end as fan_status,
    coalesce(wecom.has_live_relationship, false) as is_wecom_fan,
    groups.one_id is not null as is_group_member,
    wecom.fan_since,
    coalesce(wecom.live_relationships, 0) as live_wecom_relationships,
    members.in_crm,
    members.in_mini_program,
    members.in_official_account,
    members.in_wecom,
    members.in_tmall,
    members.in_jd,
    members.in_douyin,
    members.in_store_pos,
    {% for flag in ["in_crm", "in_mini_program", "in_official_account", "in_wecom",
                    "in_tmall", "in_jd", "in_douyin", "in_store_pos"] -%}
    (case when members.{{ flag }} then 1 else 0 end){% if not loop.last %} + {% endif %}
    {%- endfor %} as channel_count
from members
join (select distinct one_id, one_id_created_at from {{ ref('identity_registry') }}) as registry
    on registry.one_id = members.one_id
left join primary_crm on primary_crm.one_id = members.one_id
left join primary_mp on primary_mp.one_id = members.one_id
left join wecom on wecom.one_id = members.one_id
left join wecom_gender on wecom_gender.one_id = members.one_id
left join groups on groups.one_id = members.one_id
left join guides on guides.one_id = members.one_id
left join staff as owner_staff on owner_staff.employee_no = guides.owner_guide_employee_no
