{#- One row per order line of every channel that exports lines, amounts in CNY, joined to its
    order in fct_orders (same order_key) and to the product master (dim_product).
    Where each channel's lines come from, and what line_paid_amount is:
    * Tmall: the item sheet (stg_tmall__order_items), one row per sub-order; 分摊后实付金额 as
      exported (Tmall allocates the order's discounts to lines; postage is on no line);
    * JD: the order export's rows (one per order x SKU). JD prints only order-level amounts, so
      the order's paid amount minus freight is allocated here as JD does: in proportion to the
      line's 京东价 x 订购数量, rounded down to the fen, the remainder on the order's last line;
    * Douyin: one row per sub-order with its own 订单应付金额 (discounts already allocated);
    * mini-program: the order-lines API (stg_mini_program__order_items), pay_fee per line;
    * POS: one row per receipt line, 金额 as the line's amount (a return line's refund in
      refund_amount, paid 0).
    line_paid_amount is 0 on lines of orders never paid (fct_orders.is_paid false), as the order's.
    Refunds: Tmall, mini-program and POS export them per line; JD and Douyin refund in full, so a
    refunded order's refund is spread over its lines in line order, each line at most its paid
    amount (a refund of freight stays on no line). The product: the exported merchant code
    (商家编码 / 货号, compared on merchant_code_key), or for a JD SKU id the channel product-id
    map; merchant_code is null where neither finds the master (quality_unmapped_products).
    Incremental by change on DuckDB (macros/incremental_by_change.sql): a nightly restages every line
    of the orders with a staging line, or an order in fct_orders, written by a build it has not
    consumed yet, and of the orders with a line whose product lookup gives another product now. -#}
{%- set line_sources = [('stg_tmall__order_items', 'tmall', 'order_id'), ('stg_jd__orders', 'jd', 'order_id'),
                       ('stg_douyin__orders', 'douyin', 'order_id'),
                       ('stg_mini_program__order_items', 'mini_program', 'order_id'),
                       ('stg_pos__sales', 'pos', 'receipt_id')] %}
{{ config(**incremental_by_order(line_sources, also=['fct_orders'])) }}

with products as (
    select merchant_code, merchant_code_key, category, series from {{ ref('dim_product') }}
),

channel_ids as (
    select sales_channel, channel_product_id, merchant_code_key
    from {{ ref('stg_master__product_channel_ids') }}
),
{%- if is_incremental() %}

restaged as (
    -- (channel, order_id) of the orders whose lines are staged again
    {%- for model, channel, order_id in line_sources + [('fct_orders', none, 'order_id')] %}
    -- the union's columns are named by its first branch: channel, order_id
    select {{ "'" ~ channel ~ "' as channel" if channel else 'changed.channel' }}, changed.{{ order_id }}
    from {{ ref(model) }} as changed
    where {{ unconsumed(ref(model), 'changed') }}
    union
    {%- endfor %}
    select carried.channel, carried.order_id
    from {{ this }} as carried
    {{ product_lookup('carried', 'carried.exported_merchant_code', 'carried.channel_product_id') }}
    where carried.merchant_code is distinct from coalesce(by_code.merchant_code, by_channel_id.merchant_code)
       or carried.category is distinct from coalesce(by_code.category, by_channel_id.category)
       or carried.series is distinct from coalesce(by_code.series, by_channel_id.series)
    {%- if parents_deleted_since_consumed(['fct_orders']) %}
    union
    -- lines whose order left fct_orders (its staging rows left the lake), only after such a build
    select carried.channel, carried.order_id
    from {{ this }} as carried
    where carried.has_order
      and not exists (select 1 from {{ ref('fct_orders') }} as kept where kept.order_key = carried.order_key)
    {%- endif %}
),
{%- endif %}

orders as (
    select order_key, channel, order_id, domain, order_month, booked_at, is_paid, is_valid_order, is_return,
           one_id, is_private_domain
    from {{ ref('fct_orders') }}
    {%- if is_incremental() %}
    where (channel, order_id) in (select restaged.channel, restaged.order_id from restaged)
    {%- endif %}
),

tmall as (
    select
        'tmall' as channel,
        items.order_id,
        items.sub_order_id as line_id,
        row_number() over (partition by items.order_id order by items.sub_order_id) as line_number,
        items.merchant_code as exported_code,
        cast(null as {{ dbt.type_string() }}) as channel_product_id,
        items.item_title,
        items.qty,
        items.list_amount,
        items.line_paid_amount,
        items.refund_amount as exported_refund_amount,
        cast(null as decimal(18, 2)) as order_refund_amount,
        false as refunds_per_order
    from {{ line_rows('stg_tmall__order_items', 'tmall', 'order_id') }} as items
),

jd_lines as (
    select
        lines.*,
        -- fen, so that the allocation is exact integer arithmetic on every engine
        cast(round((lines.order_paid_amount - case when lines.order_paid_amount > 0
                                                   then coalesce(lines.order_freight_amount, 0) else 0 end) * 100)
             as {{ dbt.type_bigint() }}) as goods_paid_fen,
        cast(round(lines.line_amount * 100) as {{ dbt.type_bigint() }}) as line_fen,
        sum(cast(round(lines.line_amount * 100) as {{ dbt.type_bigint() }}))
            over (partition by lines.order_id) as order_line_fen,
        max(lines.order_line_number) over (partition by lines.order_id) as last_line_number
    from {{ line_rows('stg_jd__orders', 'jd', 'order_id') }} as lines
),

jd_shares as (
    select
        jd_lines.*,
        case when order_line_fen > 0
             then floor(cast(goods_paid_fen * line_fen as {{ quanyu.type_double() }}) / order_line_fen)
             else 0 end as share_fen
    from jd_lines
),

jd as (
    select
        'jd' as channel,
        order_id,
        {{ dbt.concat(['order_id', "'|'", 'sku_id']) }} as line_id,
        order_line_number as line_number,
        cast(null as {{ dbt.type_string() }}) as exported_code,
        sku_id as channel_product_id,
        item_title,
        qty,
        line_amount as list_amount,
        -- fen to yuan by a decimal product: exact on every engine (a division by 100 made the
        -- column, and every channel's through the union, a DOUBLE on DuckDB)
        cast(cast(case
            when order_line_number = last_line_number
                then goods_paid_fen - sum(share_fen) over (partition by order_id) + share_fen
            else share_fen
        end as decimal(18, 0)) * 0.01 as decimal(18, 2)) as line_paid_amount,
        cast(null as decimal(18, 2)) as exported_refund_amount,
        order_refund_amount,
        true as refunds_per_order
    from jd_shares
),

douyin as (
    select
        'douyin' as channel,
        order_id,
        sub_order_id as line_id,
        row_number() over (partition by order_id order by sub_order_id) as line_number,
        merchant_sku as exported_code,
        product_id as channel_product_id,
        item_title,
        qty,
        item_amount as list_amount,
        payable_amount as line_paid_amount,
        refund_amount as exported_refund_amount,
        cast(null as decimal(18, 2)) as order_refund_amount,
        false as refunds_per_order
    from {{ line_rows('stg_douyin__orders', 'douyin', 'order_id') }} as staged
),

mini_program as (
    select
        'mini_program' as channel,
        order_id,
        {{ dbt.concat(['order_id', "'|'", dbt.cast('line_number', dbt.type_string())]) }} as line_id,
        line_number,
        merchant_code as exported_code,
        cast(null as {{ dbt.type_string() }}) as channel_product_id,
        item_title,
        qty,
        list_amount,
        line_paid_amount,
        refund_amount as exported_refund_amount,
        cast(null as decimal(18, 2)) as order_refund_amount,
        false as refunds_per_order
    from {{ line_rows('stg_mini_program__order_items', 'mini_program', 'order_id') }} as staged
),

pos as (
    select
        'pos' as channel,
        receipt_id as order_id,
        {{ dbt.concat(['receipt_id', "'|'", dbt.cast('line_no', dbt.type_string())]) }} as line_id,
        line_no as line_number,
        sku as exported_code,
        cast(null as {{ dbt.type_string() }}) as channel_product_id,
        cast(null as {{ dbt.type_string() }}) as item_title,
        qty,
        unit_price * qty as list_amount,
        paid_amount as line_paid_amount,
        refund_amount as exported_refund_amount,
        cast(null as decimal(18, 2)) as order_refund_amount,
        false as refunds_per_order
    from {{ line_rows('stg_pos__sales', 'pos', 'receipt_id') }} as staged
),

unioned as (
    select * from tmall
    union all
    select * from jd
    union all
    select * from douyin
    union all
    select * from mini_program
    union all
    select * from pos
),

paid as (
    select
        unioned.*,
        orders.order_key is not null as has_order,
        orders.domain,
        orders.order_month,
        orders.booked_at,
        orders.one_id,
        orders.is_private_domain,
        orders.is_valid_order,
        orders.is_return,
        case when orders.is_paid or unioned.channel = 'pos' then coalesce(unioned.line_paid_amount, 0) else 0 end
            as paid_amount
    from unioned
    left join orders
        on orders.order_key = {{ dbt.concat(['unioned.channel', "':'", 'unioned.order_id']) }}
),

-- the running sum is over the lines of channels that refund per order only (a window over every
-- line of every channel was 40 % of this model's time at 1M members); an order's lines are all
-- of one channel, so each branch holds whole orders
refunds as (
    select paid.*, coalesce(paid.exported_refund_amount, 0) as refund_amount
    from paid
    where not paid.refunds_per_order
    union all
    select
        paid.*,
        coalesce(
            paid.exported_refund_amount,
            case
                when paid.order_refund_amount - coalesce(sum(paid.paid_amount) over (
                    partition by paid.channel, paid.order_id order by paid.line_number
                    rows between unbounded preceding and 1 preceding), 0) <= 0 then 0
                when paid.order_refund_amount - coalesce(sum(paid.paid_amount) over (
                    partition by paid.channel, paid.order_id order by paid.line_number
                    rows between unbounded preceding and 1 preceding), 0) >= paid.paid_amount then paid.paid_amount
                else paid.order_refund_amount - coalesce(sum(paid.paid_amount) over (
                    partition by paid.channel, paid.order_id order by paid.line_number
                    rows between unbounded preceding and 1 preceding), 0)
            end,
            0
        ) as refund_amount
    from paid
    where paid.refunds_per_order
)

select
    {{ dbt.concat(['refunds.channel', "':'", 'refunds.order_id']) }} as order_key,
    {{ dbt.concat(['refunds.channel', "':'", 'refunds.line_id']) }} as order_line_key,
    refunds.channel,
    refunds.order_id,
    refunds.line_id,
    refunds.line_number,
    refunds.domain,
    refunds.order_month,
    refunds.booked_at,
    refunds.one_id,
    coalesce(refunds.is_private_domain, false) as is_private_domain,
    coalesce(refunds.is_valid_order, false) as is_valid_order,
    coalesce(refunds.is_return, false) as is_return_order,
    refunds.has_order,
    refunds.exported_code as exported_merchant_code,
    refunds.channel_product_id,
    coalesce(by_code.merchant_code, by_channel_id.merchant_code) as merchant_code,
    coalesce(by_code.category, by_channel_id.category) as category,
    coalesce(by_code.series, by_channel_id.series) as series,
    refunds.item_title,
    refunds.qty,
    refunds.list_amount,
    refunds.paid_amount,
    refunds.refund_amount,
    refunds.paid_amount - refunds.refund_amount as net_amount,
    {{ build_id() }} as _build_id
from refunds
{{ product_lookup('refunds', 'refunds.exported_code', 'refunds.channel_product_id') }}
