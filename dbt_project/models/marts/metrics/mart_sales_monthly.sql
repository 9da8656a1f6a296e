{#- Monthly sales by brand and by channel: GMV net of refunds, private-domain GMV and its share,
    loyalty-member sales share (the headline member share) beside the identified-buyer share,
    how much of the base no person stands behind (unresolved_*), and what counts in none of it
    yet: orders whose status the order-status map does not list (unmapped_status_orders,
    unmapped_status_amount). Exact definitions in _metrics__models.yml. Every (month, channel) of the
    reporting window has a row, with zeros where nothing was sold. -#}
{%- set scopes = [('channel', 'channel')] -%}
with orders as {{ inline_cte() }} (
    select * from {{ ref('fct_orders') }}
),

scoped as (
    {{ fan_out_scopes('orders', scopes) }}
),

aggregated as (
    select
        order_month as month,
        scope,
        scope_channel,
        sum(case when is_valid_order then 1 else 0 end) as orders,
        sum(case when is_paid and not is_return then 1 else 0 end) as paid_orders,
        sum(case when is_cancelled then 1 else 0 end) as cancelled_orders,
        sum(case when not is_return and refund_status = 'full' then 1 else 0 end) as fully_refunded_orders,
        sum(case when not is_return and refund_status = 'partial' then 1 else 0 end) as partially_refunded_orders,
        sum(case when is_return then 1 else 0 end) as return_receipts,
        sum(paid_amount) as paid_amount,
        sum(refund_amount) as refund_amount,
        sum(net_amount) as gmv,
        sum(case when is_private_domain then net_amount else 0 end) as private_domain_gmv,
        sum(case when is_wecom_attributed then net_amount else 0 end) as wecom_attributed_gmv,
        sum(case when is_identified then net_amount else 0 end) as identified_buyer_gmv,
        sum(case when is_loyalty_member then net_amount else 0 end) as loyalty_member_gmv,
        count(distinct case when is_valid_order then one_id end) as buyers,
        {{ unresolved_order_sums() }},
        sum(case when has_unmapped_status then 1 else 0 end) as unmapped_status_orders,
        sum(unmapped_status_amount) as unmapped_status_amount
    from scoped
    group by order_month, scope, scope_channel
),

scope_keys as (
    {{ sales_channel_scopes(['domain']) }}
),

dense as (
    select months.month, scope_keys.scope, scope_keys.scope_channel, scope_keys.domain
    from {{ ref('int_calendar__months') }} as months
    cross join scope_keys
),

filled as (
    {{ fill_scopes({
        'aggregated': ['orders', 'paid_orders', 'cancelled_orders', 'fully_refunded_orders', 'partially_refunded_orders',
                       'return_receipts', 'paid_amount', 'refund_amount', 'gmv', 'private_domain_gmv',
                       'wecom_attributed_gmv', 'identified_buyer_gmv', 'loyalty_member_gmv', 'buyers',
                       'unresolved_orders', 'unresolved_gmv', 'unmapped_status_orders', 'unmapped_status_amount'],
    }, scopes, carry=['domain']) }}
)

select
    filled.*,
    {{ ratio('filled.private_domain_gmv', 'filled.gmv') }} as private_domain_share,
    {{ ratio('filled.loyalty_member_gmv', 'filled.gmv') }} as loyalty_member_sales_share,
    {{ ratio('filled.identified_buyer_gmv', 'filled.gmv') }} as identified_buyer_sales_share,
    {{ ratio('filled.gmv', 'brand.gmv') }} as share_of_brand_gmv,
    {{ unresolved_shares('filled.orders', 'filled.gmv', prefix='filled.') }},
    {{ identity_graph_column() }}
from filled
join filled as brand
    on brand.month = filled.month
   and brand.scope = 'brand'
