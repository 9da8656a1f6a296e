{#- Monthly guide settlement (导购月度结算), one row per month x guide x the guide's store
    (staff master; null for an employee number it does not list), for every guide with a credit
    in the window: the sums of fct_guide_settlement_orders by credit role. credited_* are the
    orders credited to the guide herself (POS 业绩归属方 / serving guide, mini-program guide),
    store_guide_* the double credits she earns as the member's own guide. Summed over guides,
    credited_sales is the month's credited sales (test assert_guide_settlement_reconciles). -#}
with months as (
    select month from {{ ref('int_calendar__months') }}
),

credits as {{ inline_cte() }} (
    select * from {{ ref('fct_guide_settlement_orders') }}
),

monthly as (
    select
        order_month as month,
        guide_employee_no,
        guide_store_code as store_code,
        sum(case when credit_role = 'credited_guide' and is_valid_order then 1 else 0 end) as credited_orders,
        sum(case when credit_role = 'credited_guide' then net_amount else 0 end) as credited_sales,
        sum(case when credit_role = 'credited_guide' then commission_amount else 0 end) as credited_commission,
        sum(case when credit_role = 'credited_guide' and not {{ null_safe_equals('order_store_code', 'guide_store_code') }}
                 then net_amount else 0 end) as credited_sales_other_stores,
        sum(case when credit_role = 'store_guide' and is_valid_order then 1 else 0 end) as store_guide_orders,
        sum(case when credit_role = 'store_guide' then net_amount else 0 end) as store_guide_sales,
        sum(case when credit_role = 'store_guide' then commission_amount else 0 end) as store_guide_commission,
        sum(case when rule_id is null then 1 else 0 end) as credits_without_rule,
        sum(case when credit_to_status = 'unknown_code' then 1 else 0 end) as unknown_credit_to_orders
    from credits
    group by order_month, guide_employee_no, guide_store_code
),

guide_keys as (
    select distinct guide_employee_no, store_code from monthly
),

dense as (
    select months.month, guide_keys.guide_employee_no, guide_keys.store_code
    from months
    cross join guide_keys
)

select
    dense.month,
    dense.guide_employee_no,
    dense.store_code,
    staff.wecom_userid as guide_userid,
    coalesce(monthly.credited_orders, 0) as credited_orders,
    coalesce(monthly.credited_sales, 0) as credited_sales,
    coalesce(monthly.credited_commission, 0) as credited_commission,
    coalesce(monthly.credited_sales_other_stores, 0) as credited_sales_other_stores,
    coalesce(monthly.store_guide_orders, 0) as store_guide_orders,
    coalesce(monthly.store_guide_sales, 0) as store_guide_sales,
    coalesce(monthly.store_guide_commission, 0) as store_guide_commission,
    coalesce(monthly.credited_sales, 0) + coalesce(monthly.store_guide_sales, 0) as total_credited_sales,
    coalesce(monthly.credited_commission, 0) + coalesce(monthly.store_guide_commission, 0) as total_commission,
    coalesce(monthly.credits_without_rule, 0) as credits_without_rule,
    coalesce(monthly.unknown_credit_to_orders, 0) as unknown_credit_to_orders
from dense
left join monthly
    on monthly.month = dense.month
   and monthly.guide_employee_no = dense.guide_employee_no
   and {{ null_safe_equals('monthly.store_code', 'dense.store_code') }}
left join {{ ref('stg_master__staff') }} as staff
    on staff.employee_no = dense.guide_employee_no
