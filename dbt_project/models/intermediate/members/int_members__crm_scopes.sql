{#- One row per member (one_id) and reporting scope the member belongs to through the CRM: the
    reach of a store and of a guide (加V rate, sales decomposition). The member's CRM record is
    the primary one, as in dim_member: the earliest registered_at (unknown last), then the
    smallest member_id, joined to the member graph with member_bridge_on.
    * brand: every CRM member the member graph resolved;
    * store: the member's register store (register_store_code), when known;
    * guide: the member's exclusive guide (专属导购, exclusive_guide_id), when known, with the
      guide's store and WeCom userid from the staff master (null when it does not list the
      employee).
    registered_at: the primary record's registration time (null: unknown, counted as a member
    since before the data). -#}
with registrations as (
    select
        bridge.one_id,
        crm.member_id,
        crm.register_store_code,
        crm.owner_guide_employee_no,
        crm.registered_at,
        row_number() over (
            partition by bridge.one_id
            order by crm.registered_at asc nulls last, crm.member_id asc
        ) as registration_rank
    from {{ ref('stg_crm__members') }} as crm
    join {{ ref('bridge_record_member') }} as bridge {{ member_bridge_on('crm_members', 'crm') }}
    where bridge.one_id is not null
),

members as (
    select * from registrations where registration_rank = 1
)

select
    one_id,
    'brand' as scope,
    {{ dbt.cast('null', dbt.type_string()) }} as store_code,
    {{ dbt.cast('null', dbt.type_string()) }} as guide_employee_no,
    {{ dbt.cast('null', dbt.type_string()) }} as guide_userid,
    member_id,
    registered_at
from members
union all
select
    one_id,
    'store' as scope,
    register_store_code as store_code,
    {{ dbt.cast('null', dbt.type_string()) }} as guide_employee_no,
    {{ dbt.cast('null', dbt.type_string()) }} as guide_userid,
    member_id,
    registered_at
from members
where register_store_code is not null
union all
select
    members.one_id,
    'guide' as scope,
    staff.store_code,
    members.owner_guide_employee_no as guide_employee_no,
    staff.wecom_userid as guide_userid,
    members.member_id,
    members.registered_at
from members
left join {{ ref('stg_master__staff') }} as staff
    on staff.employee_no = members.owner_guide_employee_no
where members.owner_guide_employee_no is not null
