{#- Member 加V rate (会员加V率), monthly by brand, store and guide: of the members of a scope at
    the month's end, how many are its WeCom friends then. One row per month x scope: brand,
    store (CRM register store) and guide (the member's CRM exclusive guide), for every scope
    with a member. Members and scopes from int_members__crm_scopes, friends from
    int_members__friend_months. Members are a stock: a member counts from the month of their
    registration on (registered before the window or at an unknown time: from the first month).
    Exact definitions in _metrics__models.yml. -#}
with months as (
    select month from {{ ref('int_calendar__months') }}
),

first_month as (
    select min(month) as month from months
),

scopes as (
    select * from {{ ref('int_members__crm_scopes') }}
),

entries as (
    -- the month from which each member counts in the scope's stock
    select
        scopes.scope,
        scopes.store_code,
        scopes.guide_employee_no,
        case
            when scopes.registered_at is null or {{ month_of('scopes.registered_at') }} < first_month.month
                then first_month.month
            else {{ month_of('scopes.registered_at') }}
        end as entry_month
    from scopes
    cross join first_month
),

entries_per_month as (
    select scope, store_code, guide_employee_no, entry_month as month, count(*) as new_members
    from entries
    group by scope, store_code, guide_employee_no, entry_month
),

scope_keys as (
    select distinct scope, store_code, guide_employee_no from scopes
    union
    select 'brand' as scope, {{ dbt.cast('null', dbt.type_string()) }} as store_code,
           {{ dbt.cast('null', dbt.type_string()) }} as guide_employee_no
),

friends as (
    select month, scope, store_code, guide_employee_no, count(*) as friend_members_at_end
    from {{ ref('int_members__friend_months') }}
    group by month, scope, store_code, guide_employee_no
),

dense as (
    select months.month, scope_keys.scope, scope_keys.store_code, scope_keys.guide_employee_no
    from months
    cross join scope_keys
),

stocks as (
    select
        dense.*,
        sum(coalesce(entries_per_month.new_members, 0)) over (
            partition by dense.scope, dense.store_code, dense.guide_employee_no
            order by dense.month
            rows between unbounded preceding and current row
        ) as members_at_end
    from dense
    left join entries_per_month
        on entries_per_month.month = dense.month
       and entries_per_month.scope = dense.scope
       and {{ null_safe_equals('entries_per_month.store_code', 'dense.store_code') }}
       and {{ null_safe_equals('entries_per_month.guide_employee_no', 'dense.guide_employee_no') }}
)

select
    stocks.month,
    stocks.scope,
    stocks.store_code,
    stocks.guide_employee_no,
    staff.wecom_userid as guide_userid,
    stocks.members_at_end,
    coalesce(friends.friend_members_at_end, 0) as friend_members_at_end,
    {{ ratio('coalesce(friends.friend_members_at_end, 0)', 'stocks.members_at_end') }} as friend_rate,
    {{ identity_graph_column() }}
from stocks
left join friends
    on friends.month = stocks.month
   and friends.scope = stocks.scope
   and {{ null_safe_equals('friends.store_code', 'stocks.store_code') }}
   and {{ null_safe_equals('friends.guide_employee_no', 'stocks.guide_employee_no') }}
left join {{ ref('stg_master__staff') }} as staff
    on staff.employee_no = stocks.guide_employee_no
   and stocks.scope = 'guide'
