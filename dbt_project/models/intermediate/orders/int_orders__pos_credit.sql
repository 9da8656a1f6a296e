{#- One row per POS receipt (order_id = receipt_id, as in int_orders__unioned): whom 业绩归属方
    credits the sale to. The column holds a role (seeds/code_map, list pos_credit_to) or a
    typed employee number:
    * role store (门店): the store alone, no guide credited;
    * role serving_guide (服务导购) / owner_guide (专属导购): the receipt's serving guide
      (导购工号) / the member's own guide on the receipt (会员所属导购);
    * an employee number the staff master lists: that employee, even of another store;
    * blank, or a code neither list knows (unknown_code): the default - the serving guide, else
      the member's own guide on the receipt.
    credit_to_status says which; the receipt's lines agree on it (the max is taken). -#}
with receipts as (
    select
        receipt_id,
        max(store_code) as store_code,
        max(credit_to) as credit_to,
        max(serving_guide_employee_no) as serving_guide_employee_no,
        max(owner_guide_employee_no) as receipt_owner_guide_employee_no
    from {{ ref('stg_pos__sales') }}
    group by receipt_id
),

roles as (
    select source_value, code from {{ ref('code_map') }} where code_list = 'pos_credit_to'
),

staff as (
    select employee_no, store_code from {{ ref('stg_master__staff') }}
),

classified as (
    select
        receipts.*,
        roles.code as credit_to_role,
        staff.employee_no as credit_to_employee_no,
        staff.store_code as credit_to_employee_store_code,
        case
            when receipts.credit_to is null then 'blank'
            when roles.code is not null then 'role'
            when staff.employee_no is not null and {{ null_safe_equals('staff.store_code', 'receipts.store_code') }}
                then 'employee'
            when staff.employee_no is not null then 'employee_other_store'
            else 'unknown_code'
        end as credit_to_status
    from receipts
    left join roles
        on {{ code_matches('roles.source_value', 'receipts.credit_to') }}
    left join staff
        on staff.employee_no = trim(receipts.credit_to)
)

select
    receipt_id as order_id,
    store_code,
    credit_to,
    credit_to_status,
    credit_to_role,
    serving_guide_employee_no,
    receipt_owner_guide_employee_no,
    case
        when credit_to_status = 'role' and credit_to_role = 'store' then null
        when credit_to_status = 'role' and credit_to_role = 'serving_guide' then serving_guide_employee_no
        when credit_to_status = 'role' and credit_to_role = 'owner_guide' then receipt_owner_guide_employee_no
        when credit_to_status in ('employee', 'employee_other_store') then credit_to_employee_no
        else coalesce(serving_guide_employee_no, receipt_owner_guide_employee_no)
    end as credited_guide_employee_no
from classified
