{#- One row per member who had bought by the list's as-of date (var repurchase_due_as_of, else
    the latest business date of the data): the typical repurchase interval (own history, else
    the consumption cycle of the products of the one purchase day, else the brand median), the
    due date and the due status from int_members__repurchase_due_states, with the member's owner guide, home
    store and opt-out from dim_member (as of the end of the data). is_listed: due in the next
    var repurchase_due_window_days (7) days after the as-of date and reachable - not opted out;
    erased persons have no dim_member row (orchestration/erase.py deletes it and the suppression
    list keeps them out of later loads), so the inner join leaves them out even where a fact
    still held them. mart_callback_list lists the is_listed rows per guide. -#}
with states as (
    select * from {{ ref('int_members__repurchase_due_states') }}
    where is_current_as_of
),

members as (
    select one_id, owner_guide_employee_no, owner_guide_userid, owner_guide_source, home_store_code,
           is_opted_out, fan_status
    from {{ ref('dim_member') }}
)

select
    states.one_id,
    states.as_of_date,
    states.orders_to_date,
    states.purchase_days,
    states.first_order_date,
    states.last_order_date,
    states.own_median_gap_days,
    states.brand_median_gap_days,
    states.product_cycle_days,
    states.cycle_merchant_code,
    states.cycle_units,
    states.interval_basis,
    states.typical_interval_days,
    states.due_date,
    states.days_until_due,
    states.due_status,
    states.is_due,
    states.rfm_class,
    members.owner_guide_employee_no,
    members.owner_guide_userid,
    members.owner_guide_source,
    members.home_store_code,
    members.fan_status,
    members.is_opted_out,
    states.is_due and not members.is_opted_out as is_listed,
    {{ identity_graph_column() }}
from states
join members
    on members.one_id = states.one_id
