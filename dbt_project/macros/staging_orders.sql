{#- The order-status and channel join every staging order model shares: the rows of relation
    (a CTE over one channel's deduplicated export) with

    * channel: the channel's code, and domain from seeds/sales_channels;
    * order_status: the source status (status_column) mapped through seeds/order_status_map
      (code_matches: trimmed, case-insensitive), or 'unknown' for a status the map does not list
      yet (null only where the export had no status);
    * is_status_mapped: the map knows the status (or the export had none, unmapped_when
      aside). An order with an unmapped status counts in no money figure until the map lists
      it: it is not paid, its amounts are 0 and the money at stake is in unmapped_amount_cny;
    * is_paid_order (unless paid_at_column is none): the status is mapped and the map says it
      is paid, or the export has a payment time, or also_paid_when holds (SQL on relation's
      columns);
    * paid_amount_cny (with paid_amount_column): that amount on paid orders, else 0;
      unmapped_amount_cny: that amount on orders with an unmapped status, else 0;
    * refund_amount_cny (with refund_amount_column): the exported refund, 0 where empty or
      where the status is unmapped.

    unmapped_when (SQL on relation's columns) marks more rows unmapped: Douyin's after-sale
    status, which decides the refund. Both seeds are a few dozen rows; the joins keep the
    relation's grain (one map row per channel and source status, one sales_channels row per
    channel: seeds/_seeds.yml tests it). -#}
{% macro with_order_status(relation, channel, status_column='status', paid_at_column='paid_at',
                           also_paid_when=none, paid_amount_column=none, refund_amount_column=none,
                           unmapped_when=none) -%}
    {%- set amounts = paid_amount_column or refund_amount_column %}
    {%- if amounts %}
    select
        with_paid.*
        {%- if paid_amount_column %},
        case when with_paid.is_paid_order then coalesce(with_paid.{{ paid_amount_column }}, 0) else 0 end
            as paid_amount_cny,
        case when with_paid.is_status_mapped then 0 else coalesce(with_paid.{{ paid_amount_column }}, 0) end
            as unmapped_amount_cny
        {%- endif %}
        {%- if refund_amount_column %},
        case when with_paid.is_status_mapped then coalesce(with_paid.{{ refund_amount_column }}, 0) else 0 end
            as refund_amount_cny
        {%- endif %}
    from (
    {%- endif %}
    select
        with_status.*
        {%- if paid_at_column %},
        with_status.is_status_mapped and with_status.shows_payment as is_paid_order
        {%- endif %}
    from (
        select
            {{ relation }}.*,
            '{{ channel }}' as channel,
            sales_channels.domain,
            {{ code_or_unknown('status_map.order_status', relation ~ '.' ~ status_column) }} as order_status,
            {%- if paid_at_column %}
            coalesce(status_map.is_paid_order, false)
                or {{ relation }}.{{ paid_at_column }} is not null
                {%- if also_paid_when %}
                or {{ also_paid_when }}
                {%- endif %} as shows_payment,
            {%- endif %}
            (status_map.order_status is not null or {{ relation }}.{{ status_column }} is null)
            {%- if unmapped_when %}
                and not coalesce({{ unmapped_when }}, false)
            {%- endif %} as is_status_mapped
        from {{ relation }}
        left join {{ ref('order_status_map') }} as status_map
            on status_map.channel = '{{ channel }}'
           and {{ code_matches('status_map.source_status', relation ~ '.' ~ status_column) }}
        left join {{ ref('sales_channels') }} as sales_channels
            on sales_channels.channel = '{{ channel }}'
    ) as with_status
    {%- if amounts %}
    ) as with_paid
    {%- endif %}
{%- endmacro %}

{#- The refund where the export has no refund amount: a paid order that ended closed or
    refunded was refunded in full. -#}
{% macro refunded_in_full(paid_amount, is_paid_order='is_paid_order', order_status='order_status') -%}
case when {{ is_paid_order }} and {{ order_status }} in ('closed', 'refunded') then {{ paid_amount }} else 0 end
{%- endmacro %}
