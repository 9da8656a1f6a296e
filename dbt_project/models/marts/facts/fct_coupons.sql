{#- One row per coupon code: issue, redemption and the order that redeemed it.
    The redeeming order is found by its id (mini-program order_no; POS store_code-receipt_no),
    else by the coupon code printed on a mini-program order. A redemption is reversed when that
    order was never paid or was refunded in full; is_net_redeemed excludes reversed ones. -#}
with coupons as {{ inline_cte() }} (
    select * from {{ ref('stg_crm__coupons') }}
),

orders as {{ inline_cte() }} (
    select order_key, channel, order_id, coupon_code, is_paid, refund_status, is_valid_order, net_amount
    from {{ ref('fct_orders') }}
),

matched as (
    select
        coupons.coupon_code,
        coalesce(by_mp_id.order_key, by_pos_id.order_key, by_code.order_key) as redeem_order_key
    from coupons
    left join orders as by_mp_id
        on by_mp_id.channel = 'mini_program'
       and by_mp_id.order_id = coupons.redeem_order_id
    left join orders as by_pos_id
        on by_pos_id.channel = 'pos'
       and by_pos_id.order_id = {{ dbt.concat(['coupons.redeem_store_code', "'-'", 'coupons.redeem_order_id']) }}
    left join (
        select coupon_code, min(order_key) as order_key from orders where coupon_code is not null group by coupon_code
    ) as by_code
        on by_code.coupon_code = coupons.coupon_code
       and coupons.is_redeemed
)

select
    coupons.coupon_code,
    coupons.template_id,
    coupons.coupon_name,
    coupons.face_value,
    coupons.threshold_amount,
    coupons.issue_channel,
    coupons.member_id,
    bridge.one_id,
    coupons.issued_at,
    {{ month_of('coupons.issued_at') }} as issue_month,
    coupons.expires_at,
    coupons.coupon_status,
    coalesce(coupons.coupon_status = 'voided', false) as is_voided,
    coupons.is_redeemed,
    coupons.redeemed_at,
    {{ month_of('coupons.redeemed_at') }} as redeem_month,
    coupons.redeem_order_id,
    coupons.redeem_store_code,
    matched.redeem_order_key,
    orders.channel as redeem_order_channel,
    orders.net_amount as redeem_order_net_amount,
    coupons.is_redeemed and orders.order_key is not null
        and (not orders.is_paid or orders.refund_status = 'full') as is_redemption_reversed,
    coupons.is_redeemed and not coalesce(orders.order_key is not null
        and (not orders.is_paid or orders.refund_status = 'full'), false) as is_net_redeemed
from coupons
left join matched
    on matched.coupon_code = coupons.coupon_code
left join orders
    on orders.order_key = matched.redeem_order_key
left join {{ ref('bridge_record_member') }} as bridge {{ member_bridge_on('coupons', 'coupons') }}
