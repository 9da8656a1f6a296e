{#- Guide attribution with double credit (业绩归属, 销售双算): every order is credited in full
    both to its serving store and to the member's own guide (as of the end of the data, from
    dim_member), so the two credit types each add up to their own total and together exceed the
    brand's GMV by design. unresolved_*: the credited orders no person stands behind (a store
    credit needs none; an own-guide credit needs a member, so those rows show 0 and the orders
    it could not credit are the unresolved part of mart_sales_monthly). Exact definitions in
    _metrics__models.yml. -#}
with months as (
    select month from {{ ref('int_calendar__months') }}
),

orders as {{ inline_cte() }} (
    select * from {{ ref('fct_orders') }}
),

staff as (
    select employee_no, wecom_userid, store_code from {{ ref('stg_master__staff') }}
),

credits as (
    select
        order_month as month,
        'serving_store' as credit_type,
        serving_store_code as store_code,
        {{ dbt.cast('null', dbt.type_string()) }} as guide_employee_no,
        orders.*
    from orders
    where serving_store_code is not null
    union all
    select
        orders.order_month as month,
        'owner_guide' as credit_type,
        staff.store_code,
        orders.owner_guide_employee_no as guide_employee_no,
        orders.*
    from orders
    left join staff
        on staff.employee_no = orders.owner_guide_employee_no
    where orders.owner_guide_employee_no is not null
),

aggregated as (
    select
        month, credit_type, store_code, guide_employee_no,
        sum(case when is_valid_order then 1 else 0 end) as orders,
        sum(net_amount) as gmv,
        sum(case when channel = 'pos' then net_amount else 0 end) as in_store_gmv,
        sum(case when channel = 'mini_program' then net_amount else 0 end) as mini_program_gmv,
        sum(case when channel in ('tmall', 'jd', 'douyin') then net_amount else 0 end) as marketplace_gmv,
        sum(case when is_private_domain then net_amount else 0 end) as private_domain_gmv,
        count(distinct case when is_valid_order then one_id end) as buyers,
        {{ unresolved_order_sums() }}
    from credits
    group by month, credit_type, store_code, guide_employee_no
),

credit_keys as (
    select credit_type, store_code, guide_employee_no from aggregated
    union
    select 'serving_store' as credit_type, store_code, {{ dbt.cast('null', dbt.type_string()) }} as guide_employee_no
    from {{ ref('stg_master__stores') }}
),

dense as (
    select months.month, credit_keys.* from months cross join credit_keys
)

select
    dense.month,
    dense.credit_type,
    dense.store_code,
    dense.guide_employee_no,
    staff.wecom_userid as guide_userid,
    coalesce(aggregated.orders, 0) as orders,
    coalesce(aggregated.gmv, 0) as gmv,
    coalesce(aggregated.in_store_gmv, 0) as in_store_gmv,
    coalesce(aggregated.mini_program_gmv, 0) as mini_program_gmv,
    coalesce(aggregated.marketplace_gmv, 0) as marketplace_gmv,
    coalesce(aggregated.private_domain_gmv, 0) as private_domain_gmv,
    coalesce(aggregated.buyers, 0) as buyers,
    coalesce(aggregated.unresolved_orders, 0) as unresolved_orders,
    coalesce(aggregated.unresolved_gmv, 0) as unresolved_gmv,
    {{ unresolved_shares('aggregated.orders', 'aggregated.gmv', prefix='aggregated.') }},
    {{ identity_graph_column() }}
from dense
left join aggregated
    on aggregated.month = dense.month
   and aggregated.credit_type = dense.credit_type
   and {{ null_safe_equals('aggregated.store_code', 'dense.store_code') }}
   and {{ null_safe_equals('aggregated.guide_employee_no', 'dense.guide_employee_no') }}
left join staff
    on staff.employee_no = dense.guide_employee_no
