{#- Target attainment per guide and month (导购目标达成): the plan (stg_planning__guide_targets)
    against the actuals as the existing marts define them, read from them so they agree:
    sales = the guide's owner_guide credit in mart_guide_attribution_monthly (the net GMV of her
    own members' orders, every channel), new members = CRM members whose primary registration in
    the month names her as exclusive guide (int_members__crm_scopes, the entries of
    mart_member_wecom_friends_monthly's guide stock), new friends = friend_adds of her guide row
    in mart_guide_activity_monthly. One row per month x guide employee number that has a target,
    a credit, a new member or an add in the window. A guide-month the plan does not list has null
    targets; attainment = actual / target (null when the target is null or 0), gap = actual -
    target. A guide who left keeps the targets the plan still gives her (is_on_staff false). -#}
{%- set measures = ['sales', 'new_members', 'new_friends'] -%}
with months as (
    select month, next_month_start_at from {{ ref('int_calendar__months') }}
),

staff as (
    select employee_no, wecom_userid, store_code, hired_on, left_on, is_active from {{ ref('stg_master__staff') }}
),

targets as (
    select targets.*
    from {{ ref('stg_planning__guide_targets') }} as targets
    join months
        on months.month = targets.month
),

sales as (
    select month, guide_employee_no, sum(gmv) as sales_actual
    from {{ ref('mart_guide_attribution_monthly') }}
    where credit_type = 'owner_guide'
    group by month, guide_employee_no
),

new_members as (
    select {{ month_of('registered_at') }} as month, guide_employee_no, count(*) as new_members_actual
    from {{ ref('int_members__crm_scopes') }}
    where scope = 'guide'
      and registered_at is not null
    group by {{ month_of('registered_at') }}, guide_employee_no
),

new_friends as (
    select month, guide_employee_no, sum(friend_adds) as new_friends_actual
    from {{ ref('mart_guide_activity_monthly') }}
    where scope = 'guide'
      and guide_employee_no is not null
    group by month, guide_employee_no
),

guide_keys as (
    select guide_employee_no from targets
    union
    select guide_employee_no from sales where sales_actual <> 0
    union
    select guide_employee_no from new_members
    union
    select guide_employee_no from new_friends where new_friends_actual > 0
),

joined as (
    select
        months.month,
        guide_keys.guide_employee_no,
        targets.store_code as target_store_code,
        targets.guide_employee_no is not null as has_target,
        coalesce(
            (staff.hired_on is null or staff.hired_on < cast(months.next_month_start_at as date))
            and case when staff.left_on is not null then staff.left_on > months.month else staff.is_active end,
            false
        ) as is_on_staff,
        targets.sales_target,
        coalesce(sales.sales_actual, 0) as sales_actual,
        targets.new_members_target,
        coalesce(new_members.new_members_actual, 0) as new_members_actual,
        targets.new_friends_target,
        coalesce(new_friends.new_friends_actual, 0) as new_friends_actual
    from months
    cross join guide_keys
    left join staff
        on staff.employee_no = guide_keys.guide_employee_no
    left join targets
        on targets.month = months.month
       and targets.guide_employee_no = guide_keys.guide_employee_no
    left join sales
        on sales.month = months.month
       and sales.guide_employee_no = guide_keys.guide_employee_no
    left join new_members
        on new_members.month = months.month
       and new_members.guide_employee_no = guide_keys.guide_employee_no
    left join new_friends
        on new_friends.month = months.month
       and new_friends.guide_employee_no = guide_keys.guide_employee_no
)

select
    joined.month,
    joined.guide_employee_no,
    staff.wecom_userid as guide_userid,
    staff.store_code,
    joined.target_store_code,
    joined.is_on_staff,
    joined.has_target,
    {%- for name in measures %}
    joined.{{ name }}_target,
    joined.{{ name }}_actual,
    {{ ratio('joined.' ~ name ~ '_actual', 'joined.' ~ name ~ '_target') }} as {{ name }}_attainment,
    joined.{{ name }}_actual - joined.{{ name }}_target as {{ name }}_gap{{ ',' if not loop.last }}
    {%- endfor %}
from joined
left join staff
    on staff.employee_no = joined.guide_employee_no
