{#- The call-back list never holds an opted-out member or a person without a golden record
    (erased persons lose their dim_member row), and every listed member is due in the window. -#}
select list.one_id, 'opted out or no golden record' as failure
from {{ ref('mart_callback_list') }} as list
left join {{ ref('dim_member') }} as members
    on members.one_id = list.one_id
where members.one_id is null or members.is_opted_out
union all
select one_id, 'not due in the window' as failure
from {{ ref('mart_callback_list') }}
where days_until_due < 1 or days_until_due > {{ var('repurchase_due_window_days', 7) }}
