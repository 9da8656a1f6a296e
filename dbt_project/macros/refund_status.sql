{#- Refund outcome of an order (or order line) from its amounts: 'none', 'partial' or 'full'.

    Kept apart from order_status, which says where the order is in its life cycle as the
    source reports it: a completed order can still carry a partial refund. -#}
{% macro refund_status(paid_amount, refund_amount) -%}
case
    when coalesce({{ refund_amount }}, 0) <= 0 then 'none'
    when {{ refund_amount }} >= coalesce({{ paid_amount }}, 0) then 'full'
    else 'partial'
end
{%- endmacro %}
