{{ config(meta={'dagster': {'ref': {'name': 'mart_guide_settlement_monthly'}}}) }}
{#- Guide settlement reconciles with the orders: per month, the credited sales of
    mart_guide_settlement_monthly summed over guides equal the net amount of the orders that
    credit a guide, taken from fct_orders (not cancelled, status mapped) with the POS credit of
    int_orders__pos_credit and the mini-program serving guide; and its sales and commissions equal
    the sums of fct_guide_settlement_orders by role. One row per month that does not. -#}
with credited_orders as (
    select orders.order_month as month, sum(orders.net_amount) as credited_sales
    from {{ ref('fct_orders') }} as orders
    left join {{ ref('int_orders__pos_credit') }} as pos_credit
        on pos_credit.order_id = orders.order_id
       and orders.channel = 'pos'
    where not orders.is_cancelled
      and not orders.has_unmapped_status
      and ((orders.channel = 'pos' and pos_credit.credited_guide_employee_no is not null)
           or (orders.channel = 'mini_program' and orders.serving_guide_employee_no is not null))
    group by orders.order_month
),

facts as (
    select
        order_month as month,
        sum(case when credit_role = 'credited_guide' then net_amount else 0 end) as credited_sales,
        sum(case when credit_role = 'store_guide' then net_amount else 0 end) as store_guide_sales,
        sum(commission_amount) as commission
    from {{ ref('fct_guide_settlement_orders') }}
    group by order_month
),

settlement as (
    select
        month,
        sum(credited_sales) as credited_sales,
        sum(store_guide_sales) as store_guide_sales,
        sum(total_commission) as commission
    from {{ ref('mart_guide_settlement_monthly') }}
    group by month
)

select
    settlement.month,
    settlement.credited_sales,
    credited_orders.credited_sales as orders_credited_sales,
    facts.credited_sales as facts_credited_sales
from settlement
left join credited_orders
    on credited_orders.month = settlement.month
left join facts
    on facts.month = settlement.month
where coalesce(settlement.credited_sales, 0) <> coalesce(credited_orders.credited_sales, 0)
   or coalesce(settlement.credited_sales, 0) <> coalesce(facts.credited_sales, 0)
   or coalesce(settlement.store_guide_sales, 0) <> coalesce(facts.store_guide_sales, 0)
   or abs(coalesce(settlement.commission, 0) - coalesce(facts.commission, 0)) > 0.005
