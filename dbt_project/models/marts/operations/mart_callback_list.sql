{#- The call-back list (客户回访名单): one row per member due to buy again in the next
    var repurchase_due_window_days (7) days after the as-of date and not opted out
    (mart_member_repurchase_due.is_listed), for their owner guide (dim_member's 专属导购: the CRM
    exclusive guide while still a live WeCom friend, else the guide of the earliest live WeCom
    relationship, else the CRM guide, else the mini-program guide - the guide every own-guide
    credit of mart_guide_attribution_monthly goes to), with the member's last valid order up to
    the as-of date and the reason (which interval made the member due: their own, the
    consumption cycle of the product bought on their one purchase day, or the brand's). Members
    without an owner guide stay on the list with a null guide (the store's list). -#}
with listed as (
    select * from {{ ref('mart_member_repurchase_due') }}
    where is_listed
),

last_orders as (
    select one_id, order_key, order_id, channel, booked_at, net_amount, serving_store_code
    from (
        select
            orders.one_id, orders.order_key, orders.order_id, orders.channel, orders.booked_at,
            orders.net_amount, orders.serving_store_code,
            row_number() over (partition by orders.one_id order by orders.booked_at desc, orders.order_key desc)
                as recent_rank
        from {{ ref('fct_orders') }} as orders
        join listed
            on listed.one_id = orders.one_id
        where orders.is_valid_order
          and cast(orders.booked_at as date) <= listed.as_of_date
    ) as ranked
    where recent_rank = 1
)

select
    listed.as_of_date,
    listed.owner_guide_employee_no as guide_employee_no,
    listed.owner_guide_userid as guide_userid,
    listed.owner_guide_source as guide_source,
    listed.owner_guide_source in ('crm_exclusive_guide_live_on_wecom', 'earliest_live_wecom_relationship')
        as is_wecom_friend_of_guide,
    listed.home_store_code as store_code,
    listed.one_id,
    listed.due_date,
    listed.days_until_due,
    listed.typical_interval_days,
    listed.interval_basis,
    listed.cycle_merchant_code,
    listed.purchase_days,
    listed.rfm_class,
    listed.fan_status,
    last_orders.order_key as last_order_key,
    last_orders.channel as last_order_channel,
    last_orders.booked_at as last_order_at,
    last_orders.net_amount as last_order_net_amount,
    last_orders.serving_store_code as last_order_store_code,
    case
        when listed.interval_basis = 'own_history' then 'own_interval_due'
        when listed.interval_basis = 'product_cycle' then 'product_cycle_due'
        else 'brand_interval_due'
    end as reason_code,
    {{ dbt.concat([
        "'复购到期: 上次购买 '", dbt.cast('listed.last_order_date', dbt.type_string()),
        "' ('", 'last_orders.channel', "'), '",
        "case when listed.interval_basis = 'own_history' then " ~ dbt.concat([
            "'本人'", dbt.cast('listed.purchase_days', dbt.type_string()), "'次购买的中位间隔 '"])
        ~ " when listed.interval_basis = 'product_cycle' then " ~ dbt.concat([
            "'所购 '", "coalesce(cycle_products.product_name, listed.cycle_merchant_code)", "' x'",
            dbt.cast('listed.cycle_units', dbt.type_string()), "' 的消费周期 '"])
        ~ " else '品牌中位复购间隔 ' end",
        dbt.cast('listed.typical_interval_days', dbt.type_string()),
        "' 天, 预计 '", dbt.cast('listed.due_date', dbt.type_string()), "' 到期'",
    ]) }} as reason,
    {{ identity_graph_column() }}
from listed
left join last_orders
    on last_orders.one_id = listed.one_id
left join {{ ref('dim_product') }} as cycle_products
    on cycle_products.merchant_code = listed.cycle_merchant_code
