{#- One row per month, CRM scope (int_members__crm_scopes) and member who is a member of the
    scope at the month's end (registered before next_month_start_at, or at an unknown time) and
    a WeCom friend of it then (加V): a WeCom relationship spell (int_fans__spells, source wecom)
    of the member live at next_month_start_at (macro live_at) with
    * brand: any guide;
    * store: a guide of the store (the guide's store in the staff master);
    * guide: the member's own exclusive guide (same employee number).
    A member friend of two of the store's guides is one row. Group memberships do not count:
    加V is a 1:1 WeCom friendship. -#}
with months as (
    select month, next_month_start_at from {{ ref('int_calendar__months') }}
),

scopes as {{ inline_cte() }} (
    select * from {{ ref('int_members__crm_scopes') }}
),

spells as {{ inline_cte() }} (
    select one_id, guide_employee_no, store_code, live_from, live_until
    from {{ ref('int_fans__spells') }}
    where fan_source = 'wecom'
      and one_id is not null
),

scope_spells as (
    select scopes.scope, scopes.store_code, scopes.guide_employee_no, scopes.one_id, scopes.registered_at,
           spells.live_from, spells.live_until
    from scopes
    join spells
        on spells.one_id = scopes.one_id
    where scopes.scope = 'brand'
    union all
    select scopes.scope, scopes.store_code, scopes.guide_employee_no, scopes.one_id, scopes.registered_at,
           spells.live_from, spells.live_until
    from scopes
    join spells
        on spells.one_id = scopes.one_id
       and spells.store_code = scopes.store_code
    where scopes.scope = 'store'
    union all
    select scopes.scope, scopes.store_code, scopes.guide_employee_no, scopes.one_id, scopes.registered_at,
           spells.live_from, spells.live_until
    from scopes
    join spells
        on spells.one_id = scopes.one_id
       and spells.guide_employee_no = scopes.guide_employee_no
    where scopes.scope = 'guide'
)

select distinct
    months.month,
    scope_spells.scope,
    scope_spells.store_code,
    scope_spells.guide_employee_no,
    scope_spells.one_id
from scope_spells
join months
    on {{ live_at('scope_spells', 'months.next_month_start_at') }}
   and (scope_spells.registered_at is null or scope_spells.registered_at < months.next_month_start_at)
