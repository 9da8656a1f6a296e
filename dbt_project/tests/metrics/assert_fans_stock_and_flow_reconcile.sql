{#- Every row of mart_fans_monthly: the live relationships at the end of the month are those at
    its start plus the adds and transfers in, minus every kind of deletion; and each month starts
    with the stock the previous month ended with. -#}
with fans as (
    select * from {{ ref('mart_fans_monthly') }}
),

flow_breaks as (
    select month, scope, store_code, guide_userid, 'stock and flow disagree' as failure
    from fans
    where relationships_at_end <> relationships_at_start + friend_adds + transfers_in
                                  - customer_deletions - guide_deletions - transfers_out
),

continuity_breaks as (
    select this_month.month, this_month.scope, this_month.store_code, this_month.guide_userid,
           'start differs from the previous end' as failure
    from fans as this_month
    join fans as previous
        on previous.month = cast({{ dbt.dateadd('month', -1, 'this_month.month') }} as date)
       and previous.scope = this_month.scope
       and {{ null_safe_equals('previous.store_code', 'this_month.store_code') }}
       and {{ null_safe_equals('previous.guide_userid', 'this_month.guide_userid') }}
    where previous.fans_at_end <> this_month.fans_at_start
       or previous.relationships_at_end <> this_month.relationships_at_start
)

select * from flow_breaks
union all
select * from continuity_breaks
