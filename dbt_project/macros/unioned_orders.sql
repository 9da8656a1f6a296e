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
        {{ relation }}.refund_amount,
        {{ relation }}.unmapped_amount,
        not {{ relation }}.is_status_mapped as has_unmapped_status
{%- endmacro %}

{#- A marketplace order of int_orders__unioned rolled up from its lines (lines: a CTE of one
    channel's staging lines with order_id and the line's one_id): the status of the first line
    (first_line, a condition on the line), the earliest order and payment times, the quantity
    summed, every line counted and any resolved line's member. By default a line carries its own
    payment flag and amounts (is_paid_order, paid_amount, refund_amount, summed); a channel that
    repeats order-level figures on every line passes expressions that take them from the first
    line only. -#}
{% macro order_from_lines(channel, lines, first_line, is_paid='is_paid_order',
                          paid_amount='paid_amount', refund_amount='refund_amount',
                          unmapped_amount='unmapped_amount') -%}
    {%- set string = dbt.type_string() -%}
    select
        '{{ channel }}' as channel,
        max(domain) as domain,
        order_id,
        max(case when {{ first_line }} then source_status end) as source_status,
        max(case when {{ first_line }} then order_status end) as order_status,
        max(case when {{ is_paid }} then 1 else 0 end) = 1 as is_paid,
        false as is_return,
        min(ordered_at) as ordered_at,
        min(paid_at) as paid_at,
        sum({{ paid_amount }}) as paid_amount,
        sum({{ refund_amount }}) as refund_amount,
        sum({{ unmapped_amount }}) as unmapped_amount,
        max(case when is_status_mapped then 0 else 1 end) = 1 as has_unmapped_status,
        cast(sum(qty) as {{ dbt.type_bigint() }}) as item_qty,
        cast(null as {{ string }}) as store_code,
        cast(null as {{ string }}) as serving_guide_employee_no,
        cast(null as {{ string }}) as coupon_code,
        count(*) as source_records,
        max(one_id) as one_id
    from {{ lines }}
    group by order_id
{%- endmacro %}

{#- The staging rows of `model` (raw table `table` in the bridge) that int_orders__unioned reads: all
    of them in a full build; in an incremental run (macros/incremental_by_change.sql) only the rows
    of the orders (`order_id`: the staging column naming the order) that have a row the model has not
    consumed, or a row whose member the bridge restaged (`bridge_changes`: the bridge's unconsumed
    records, one_id null included: a record that lost its member). -#}
{% macro order_rows(model, table, order_id, bridge_changes='bridge_changes') -%}
    {%- if is_incremental() -%}
    (
        select * from {{ ref(model) }} as all_rows
        where all_rows.{{ order_id }} in (
            select changed.{{ order_id }} from {{ ref(model) }} as changed
            where {{ unconsumed(ref(model), 'changed') }}
            union
            select resolved.{{ order_id }} from {{ ref(model) }} as resolved
            join {{ bridge_changes }} {{ member_bridge_on(table, 'resolved', bridge_changes) }}
        )
    )
    {%- else -%}
    {{ ref(model) }}
    {%- endif -%}
{%- endmacro %}

{#- The staging lines of `model` that fct_order_lines reads: all of them in a full build, in an
    incremental run only the lines of the orders of `channel` in its `restaged` CTE (`order_id`: the
    staging column naming the order). -#}
{% macro line_rows(model, channel, order_id) -%}
    {%- if is_incremental() -%}
    (
        select * from {{ ref(model) }} as all_rows
        where all_rows.{{ order_id }} in (
            select restaged.order_id from restaged where restaged.channel = '{{ channel }}'
        )
    )
    {%- else -%}
    {{ ref(model) }}
    {%- endif -%}
{%- endmacro %}

{#- The joins that give an order line of `relation` its product (CTEs `products`, `channel_ids`):
    by the exported merchant code (`exported_code`, compared on merchant_code_key), else for a line
    without one by the channel's product id (`channel_product_id`) through the product-id map.
    Aliases: by_code, channel_ids, by_channel_id. -#}
{% macro product_lookup(relation, exported_code, channel_product_id) -%}
left join products as by_code
    on by_code.merchant_code_key = {{ merchant_code_key(exported_code) }}
left join channel_ids
    on channel_ids.sales_channel = {{ relation }}.channel
   and channel_ids.channel_product_id = {{ channel_product_id }}
   and {{ exported_code }} is null
left join products as by_channel_id
    on by_channel_id.merchant_code_key = channel_ids.merchant_code_key
{%- endmacro %}

{#- config() of a model of the order chain incremental by change on order_key (channel:order id):
    `sources`, the staging models it reads orders or lines from as (model, channel, order id
    column), and `also`, its other parents with a change log. -#}
{% macro incremental_by_order(sources, also) -%}
    {%- set kept = [] -%}
    {%- for model, channel, order_id in sources -%}
        {%- do kept.append((model, "'" ~ channel ~ ":' || " ~ order_id)) -%}
    {%- endfor -%}
    {{ return(incremental_by_change('order_key', parents=sources | map(attribute=0) | list + also,
                                    deleted_unless=kept)) }}
{%- endmacro %}
