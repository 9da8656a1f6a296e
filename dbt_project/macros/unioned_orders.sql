{#- The order columns of int_orders__unioned that a channel exporting one row per order (Tmall,
    mini-program) takes as they are from its stg_*__orders model (relation), from domain to
    refund_amount in the union's column order. The branch adds its channel before them and its
    own columns (item_qty, store, guide, coupon ...) after. -#}
{% macro order_grain_columns(relation) -%}
        {{ relation }}.domain,
        {{ relation }}.order_id,
        {{ relation }}.source_status,
        {{ relation }}.order_status,
        {{ relation }}.is_paid_order as is_paid,
        false as is_return,
        {{ relation }}.ordered_at,
        {{ relation }}.paid_at,
        {{ relation }}.paid_amount,
        {{ relation }}.refund_amount
{%- endmacro %}
