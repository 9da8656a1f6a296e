{#- Guide settlement per order (导购业绩结算): one row per credited order x credit role, with the
    commission rule applied (seeds/guide_commission_rules).
    * Orders: fct_orders that count in money (not cancelled, status mapped).
    * The rule: the one matching the order's channel (or '*') on its booking day (valid_from <=
      day <= valid_to, null valid_to open), lowest priority first, then smallest rule_id. No
      match: no rule, no commission, still credited.
    * credited_guide: POS - int_orders__pos_credit (业绩归属方 honoured, else serving guide, else
      the receipt's own guide; the role 门店 credits no guide); mini-program - its serving guide;
      marketplaces - none.
    * store_guide (双算): when the rule says double_credit, the member's own guide (dim_member,
      as of the end of the data), unless she is the credited guide already.
    * commission: percent - rate x net_amount (a return receipt claws back), rounded to the fen;
      fixed - the amount per valid order (0 for a refunded or return order). -#}
with orders as {{ inline_cte() }} (
    select
        order_key, order_id, channel, order_month, booked_at, net_amount, is_valid_order,
        serving_store_code, serving_guide_employee_no, owner_guide_employee_no
    from {{ ref('fct_orders') }}
    where not is_cancelled
      and not has_unmapped_status
),

pos_credit as (
    select order_id, credit_to_status, credited_guide_employee_no from {{ ref('int_orders__pos_credit') }}
),

rules as (
    select * from {{ ref('guide_commission_rules') }}
),

credited as (
    select
        orders.*,
        pos_credit.credit_to_status,
        case
            when orders.channel = 'pos' then pos_credit.credited_guide_employee_no
            when orders.channel = 'mini_program' then orders.serving_guide_employee_no
        end as credited_guide_employee_no
    from orders
    left join pos_credit
        on pos_credit.order_id = orders.order_id
       and orders.channel = 'pos'
),

-- a rule depends on the order's channel and booking day only: ranked once per (channel, day) that
-- has orders, not per order (a window over every order x matching rule was half of this model's
-- time at 1M members)
order_days as (
    select distinct channel, cast(booked_at as date) as booked_date
    from credited
),

day_rules as (
    select
        order_days.channel,
        order_days.booked_date,
        rules.rule_id,
        row_number() over (partition by order_days.channel, order_days.booked_date
                           order by rules.priority, rules.rule_id) as rule_rank
    from order_days
    join rules
        on (rules.channel = order_days.channel or rules.channel = '*')
       and rules.valid_from <= order_days.booked_date
       and (rules.valid_to is null or rules.valid_to >= order_days.booked_date)
),

with_rule as (
    select
        credited.*,
        rules.rule_id,
        rules.commission_type,
        rules.commission_value,
        coalesce(rules.double_credit, false) as double_credit,
        rules.double_credit_commission_type,
        rules.double_credit_commission_value
    from credited
    left join day_rules
        on day_rules.channel = credited.channel
       and day_rules.booked_date = cast(credited.booked_at as date)
       and day_rules.rule_rank = 1
    left join rules
        on rules.rule_id = day_rules.rule_id
),

credits as (
    select
        with_rule.*,
        'credited_guide' as credit_role,
        credited_guide_employee_no as guide_employee_no,
        commission_type as applied_commission_type,
        commission_value as applied_commission_value
    from with_rule
    where credited_guide_employee_no is not null
    union all
    select
        with_rule.*,
        'store_guide' as credit_role,
        owner_guide_employee_no as guide_employee_no,
        double_credit_commission_type as applied_commission_type,
        double_credit_commission_value as applied_commission_value
    from with_rule
    where double_credit
      and owner_guide_employee_no is not null
      and not {{ null_safe_equals('owner_guide_employee_no', 'credited_guide_employee_no') }}
)

select
    credits.order_key,
    credits.order_id,
    credits.channel,
    credits.order_month,
    credits.booked_at,
    credits.credit_role,
    credits.guide_employee_no,
    staff.store_code as guide_store_code,
    credits.serving_store_code as order_store_code,
    credits.credit_to_status,
    credits.net_amount,
    credits.is_valid_order,
    credits.rule_id,
    credits.applied_commission_type as commission_type,
    credits.applied_commission_value as commission_value,
    credits.double_credit,
    -- in decimals, so the fen is rounded half away from zero alike on every engine
    case
        when credits.applied_commission_type = 'percent'
            then cast(round(credits.net_amount * cast(credits.applied_commission_value as decimal(18, 6)), 2)
                      as decimal(18, 2))
        when credits.applied_commission_type = 'fixed' and credits.is_valid_order
            then cast(credits.applied_commission_value as decimal(18, 2))
        else cast(0 as decimal(18, 2))
    end as commission_amount
from credits
left join {{ ref('stg_master__staff') }} as staff
    on staff.employee_no = credits.guide_employee_no
