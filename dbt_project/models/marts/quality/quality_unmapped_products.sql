{#- One row per product code on order lines that maps to no product of the master: per channel,
    the exported merchant code (or the JD listing id the channel product-id map lacks), with
    the lines, quantity and net amount at stake, the months seen and an example title. Causes in
    the demo: a marketplace gift SKU (赠品) no master lists, a retired code on an old listing, a
    listing id missing from the map. Codes typed with other case or spaces are not listed: they
    match on merchant_code_key. The fix is a row in the master or the map. Empty when every line
    maps. -#}
select
    channel,
    coalesce(exported_merchant_code, channel_product_id) as source_product_code,
    case
        when exported_merchant_code is not null then 'merchant code not in product master'
        else 'listing id not in channel product-id map'
    end as reason,
    count(*) as order_lines,
    sum(qty) as qty,
    sum(net_amount) as net_amount,
    min(order_month) as first_order_month,
    max(order_month) as last_order_month,
    min(item_title) as example_item_title
from {{ ref('fct_order_lines') }}
where merchant_code is null
  and coalesce(exported_merchant_code, channel_product_id) is not null
group by channel, coalesce(exported_merchant_code, channel_product_id),
         case when exported_merchant_code is not null then 'merchant code not in product master'
              else 'listing id not in channel product-id map' end
