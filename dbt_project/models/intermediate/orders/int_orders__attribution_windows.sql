{#- One row per order placed with a serving guide (WeCom userid known) by a resolved buyer, and
    whether each private-domain attribution rule would credit it:
    * friend_at_order (today's rule, fct_orders.is_wecom_attributed): the serving guide is a live
      WeCom friend of the buyer when the order is placed;
    * friend_added_within_window: that, and the friendship started within
      var('attribution_add_window_days') days before the order (a recent add; a customer
      transferred to the guide is not an add);
    * guide_chat_within_window: that, and the guide chatted (chat_cnt > 0 in the WeCom
      statistics) on one of the var('attribution_chat_window_days') days ending on the order's
      day. WeCom exports chats per guide and day only (a per-customer chat needs the message
      archive, 会话存档, which is not loaded), so this is the guide's activity, not a chat with
      this buyer.
    Both windows narrow today's rule: a variant credits a subset of its orders. -#}
{%- set add_days = var('attribution_add_window_days') | int -%}
{%- set chat_days = var('attribution_chat_window_days') | int -%}
with orders as {{ inline_cte() }} (
    select
        order_key, order_month, channel, domain, ordered_at, is_valid_order, net_amount, one_id,
        serving_guide_userid, serving_guide_employee_no, is_wecom_attributed
    from {{ ref('fct_orders') }}
    where serving_guide_userid is not null
      and one_id is not null
),

recent_adds as (
    select distinct orders.order_key
    from orders
    join {{ ref('int_fans__spells') }} as spells
        on spells.one_id = orders.one_id
       and spells.fan_source = 'wecom'
       and spells.guide_userid = orders.serving_guide_userid
       and {{ live_at('spells', 'orders.ordered_at') }}
       and not coalesce(spells.is_transfer_in, false)
       and spells.live_from >= {{ dbt.dateadd('day', -add_days, 'orders.ordered_at') }}
),

guide_chat_days as (
    select guide_userid, day
    from {{ ref('int_guides__days') }}
    where chat_count > 0
),

recent_chats as (
    select distinct orders.order_key
    from orders
    join guide_chat_days
        on guide_chat_days.guide_userid = orders.serving_guide_userid
       and guide_chat_days.day <= cast(orders.ordered_at as date)
       and guide_chat_days.day > cast({{ dbt.dateadd('day', -chat_days, 'cast(orders.ordered_at as date)') }} as date)
    where orders.is_wecom_attributed
)

select
    orders.order_key,
    orders.order_month,
    orders.channel,
    orders.domain,
    orders.is_valid_order,
    orders.net_amount,
    orders.one_id,
    orders.serving_guide_userid,
    orders.serving_guide_employee_no,
    orders.is_wecom_attributed as is_friend_at_order,
    recent_adds.order_key is not null as is_friend_added_within_window,
    recent_chats.order_key is not null as is_guide_chat_within_window
from orders
left join recent_adds
    on recent_adds.order_key = orders.order_key
left join recent_chats
    on recent_chats.order_key = orders.order_key
