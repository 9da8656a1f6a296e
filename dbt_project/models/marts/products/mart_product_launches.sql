{#- New-product launch performance (新品上市表现), one row per launch and channel: products whose
    master launch date (dim_product.launched_on) falls inside the order data, measured from the
    launch to the end of the data. Valid orders only (paid, not refunded in full).
    * buyers: identified members with a valid order containing the product;
    * first_time_buyers: of those, members whose first valid order with the brand (any channel,
      any product) contains the product: the customers the launch brought in;
    * repeat_buyers: buyers with two or more valid orders containing the product; repurchase_rate
      = repeat_buyers / buyers;
    * orders, qty, net_amount: orders containing the product and its lines' net amount;
      aov: those orders' whole net amount (fct_orders.net_amount) / orders: the basket the launch
      sits in. -#}
with data_range as (
    select min(cast(booked_at as date)) as first_day, max(cast(booked_at as date)) as last_day
    from {{ ref('fct_orders') }}
),

launches as (
    select products.merchant_code, products.product_name, products.category, products.launched_on
    from {{ ref('dim_product') }} as products
    cross join data_range
    where products.launched_on > data_range.first_day
      and products.launched_on <= data_range.last_day
),

valid_orders as (
    select order_key, one_id, booked_at, net_amount
    from {{ ref('fct_orders') }}
    where is_valid_order
),

first_orders as (
    select one_id, min(booked_at) as first_booked_at
    from valid_orders
    where one_id is not null
    group by one_id
),

launch_lines as (
    select
        launches.merchant_code,
        lines.channel,
        lines.order_key,
        lines.one_id,
        lines.booked_at,
        sum(lines.qty) as qty,
        sum(lines.net_amount) as net_amount
    from {{ ref('fct_order_lines') }} as lines
    inner join launches
        on launches.merchant_code = lines.merchant_code
    where lines.is_valid_order
      and cast(lines.booked_at as date) >= launches.launched_on
    group by launches.merchant_code, lines.channel, lines.order_key, lines.one_id, lines.booked_at
),

buyer_orders as (
    select merchant_code, channel, one_id, count(*) as orders
    from launch_lines
    where one_id is not null
    group by merchant_code, channel, one_id
),

per_launch as (
    select
        launch_lines.merchant_code,
        launch_lines.channel,
        count(*) as orders,
        count(distinct launch_lines.one_id) as buyers,
        count(distinct case when first_orders.first_booked_at = launch_lines.booked_at
                            then launch_lines.one_id end) as first_time_buyers,
        sum(launch_lines.qty) as qty,
        sum(launch_lines.net_amount) as net_amount,
        sum(valid_orders.net_amount) as order_net_amount
    from launch_lines
    inner join valid_orders
        on valid_orders.order_key = launch_lines.order_key
    left join first_orders
        on first_orders.one_id = launch_lines.one_id
    group by launch_lines.merchant_code, launch_lines.channel
),

repeaters as (
    select merchant_code, channel, sum(case when orders >= 2 then 1 else 0 end) as repeat_buyers
    from buyer_orders
    group by merchant_code, channel
)

select
    launches.merchant_code,
    launches.product_name,
    launches.category,
    launches.launched_on,
    per_launch.channel,
    {{ dbt.datediff('launches.launched_on', 'data_range.last_day', 'day') }} + 1 as days_on_sale,
    per_launch.orders,
    per_launch.buyers,
    per_launch.first_time_buyers,
    coalesce(repeaters.repeat_buyers, 0) as repeat_buyers,
    {{ ratio('coalesce(repeaters.repeat_buyers, 0)', 'per_launch.buyers') }} as repurchase_rate,
    per_launch.qty,
    per_launch.net_amount,
    {{ ratio('per_launch.order_net_amount', 'per_launch.orders') }} as aov
from launches
cross join data_range
inner join per_launch
    on per_launch.merchant_code = launches.merchant_code
left join repeaters
    on repeaters.merchant_code = per_launch.merchant_code
   and repeaters.channel = per_launch.channel
