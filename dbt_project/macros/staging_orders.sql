{#- The order-status and channel join every staging order model shares: the rows of relation
    (a CTE over one channel's deduplicated export) with

    * channel: the channel's code, and domain from seeds/sales_channels;
    * order_status: the source status (status_column) mapped through seeds/order_status_map,
      matched case-insensitively; null where the map does not know it;
    * is_paid_order (unless paid_at_column is none): the map says the status is paid, or the
      export has a payment time, or also_paid_when holds (SQL on relation's columns);
    * paid_amount_cny (with paid_amount_column): that amount on paid orders, else 0;
    * refund_amount_cny (with refund_amount_column): the exported refund, 0 where empty.

    Both seeds are a few dozen rows; the joins keep the relation's grain (one map row per
    channel and source status, one sales_channels row per channel: seeds/_seeds.yml tests it). -#}
{% macro with_order_status(relation, channel, status_column='status', paid_at_column='paid_at',
                           also_paid_when=none, paid_amount_column=none, refund_amount_column=none) -%}
    {%- set amounts = paid_amount_column or refund_amount_column %}
    {%- if amounts %}
    select
        with_status.*
        {%- if paid_amount_column %},
        case when with_status.is_paid_order then coalesce(with_status.{{ paid_amount_column }}, 0) else 0 end
            as paid_amount_cny
        {%- endif %}
        {%- if refund_amount_column %},
        coalesce(with_status.{{ refund_amount_column }}, 0) as refund_amount_cny
        {%- endif %}
    from (
    {%- endif %}
    select
        {{ relation }}.*,
        '{{ channel }}' as channel,
        sales_channels.domain,
        status_map.order_status
        {%- if paid_at_column %},
        coalesce(status_map.is_paid_order, false)
            or {{ relation }}.{{ paid_at_column }} is not null
            {%- if also_paid_when %}
            or {{ also_paid_when }}
            {%- endif %} as is_paid_order
        {%- endif %}
    from {{ relation }}
    left join {{ ref('order_status_map') }} as status_map
        on status_map.channel = '{{ channel }}'
       and lower(status_map.source_status) = lower({{ relation }}.{{ status_column }})
    left join {{ ref('sales_channels') }} as sales_channels
        on sales_channels.channel = '{{ channel }}'
    {%- if amounts %}
    ) as with_status
    {%- endif %}
{%- endmacro %}

{#- The refund where the export has no refund amount: a paid order that ended closed or
    refunded was refunded in full. -#}
{% macro refunded_in_full(paid_amount, is_paid_order='is_paid_order', order_status='order_status') -%}
case when {{ is_paid_order }} and {{ order_status }} in ('closed', 'refunded') then {{ paid_amount }} else 0 end
{%- endmacro %}
