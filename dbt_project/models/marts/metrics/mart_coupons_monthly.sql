{#- Coupon redemption (核销率) by brand and by issue channel: issue-month cohorts (what share of
    the coupons issued in a month was ever redeemed) and redemption activity in the month.
    Exact definitions in _metrics__models.yml. -#}
{%- set scopes = [('issue_channel', 'issue_channel')] -%}
with months as (
    select month, data_end_at from {{ ref('int_calendar__months') }}
),

coupons as {{ inline_cte() }} (
    select * from {{ ref('fct_coupons') }}
),

scoped as {{ inline_cte() }} (
    {{ fan_out_scopes('coupons', scopes) }}
),

cohorts as (
    select
        scoped.issue_month as month, scoped.scope, scoped.scope_issue_channel,
        sum(case when not scoped.is_voided then 1 else 0 end) as issued_coupons,
        sum(case when scoped.is_voided then 1 else 0 end) as voided_coupons,
        sum(case when not scoped.is_voided and scoped.is_redeemed then 1 else 0 end) as redeemed_coupons,
        sum(case when not scoped.is_voided and scoped.is_net_redeemed then 1 else 0 end) as net_redeemed_coupons,
        sum(case when not scoped.is_voided and not scoped.is_redeemed
                  and (scoped.expires_at is null or scoped.expires_at > months.data_end_at) then 1 else 0 end)
            as open_coupons
    from scoped
    join months
        on months.month = scoped.issue_month
    group by scoped.issue_month, scoped.scope, scoped.scope_issue_channel
),

redemptions as (
    select
        redeem_month as month, scope, scope_issue_channel,
        sum(case when is_redeemed then 1 else 0 end) as redemptions_in_month,
        sum(case when is_redemption_reversed then 1 else 0 end) as reversed_redemptions_in_month,
        sum(case when is_net_redeemed then face_value else 0 end) as net_redeemed_face_value
    from scoped
    where redeem_month is not null
    group by redeem_month, scope, scope_issue_channel
),

scope_keys as (
    select 'brand' as scope, {{ dbt.cast('null', dbt.type_string()) }} as scope_issue_channel
    union
    select distinct 'issue_channel' as scope, issue_channel from coupons
),

dense as (
    select months.month, scope_keys.* from months cross join scope_keys
),

filled as (
    {{ fill_scopes({
        'cohorts': ['issued_coupons', 'voided_coupons', 'redeemed_coupons', 'net_redeemed_coupons', 'open_coupons'],
        'redemptions': ['redemptions_in_month', 'reversed_redemptions_in_month', 'net_redeemed_face_value'],
    }, scopes) }}
)

select
    filled.*,
    {{ ratio('redeemed_coupons', 'issued_coupons') }} as redemption_rate,
    {{ ratio('net_redeemed_coupons', 'issued_coupons') }} as net_redemption_rate
from filled
