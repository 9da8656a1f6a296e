{#- One row per order of every channel, amounts in CNY: the fact every sales metric reads.
    * paid_amount: what the buyer paid (0 when never paid); refund_amount: what was refunded
      (full or partial; a POS return receipt carries its refund here with paid 0);
      net_amount = paid_amount - refund_amount;
    * is_cancelled: never paid (closed before payment, or still awaiting payment at the end of
      the data): contributes nothing; is_valid_order: paid, not a return receipt and not
      refunded in full - the orders counted by order counts, AOV, frequency and repurchase;
    * has_unmapped_status: the exported status (or Douyin after-sale status, POS receipt type)
      is not in seeds/order_status_map yet, so the order counts in no money figure and in no
      order count; unmapped_status_amount is its amount, shown beside the KPIs in
      mart_sales_monthly until the map lists the status (marts.quality_unmapped_codes);
    * order_month: the month of booked_at = coalesce(paid_at, ordered_at), Beijing time. A
      refund is netted in its order's month (the exports carry no refund date), a POS return
      receipt in its own month;
    * domain: the channel's (public: Tmall, JD, Douyin; private: mini-program; offline: POS).
      is_private_domain (私域): a mini-program order, or a WeCom-attributed order: one placed with
      a serving guide who was, when the order was placed, a live WeCom friend of the buyer.
      private_domain_rule names the rule that credited it, the first that matches in the
      precedence of macros/metrics/private_domain_rules.sql (mini_program_order, then
      wecom_guide_friend); null when the order is not private-domain. Marketplace orders are never private, even from fans:
      the platform owns that transaction. Customer groups add no order of their own: group
      purchases happen in the mini-program;
    * is_fan_at_order: the buyer was a fan (a live WeCom relationship or a group membership)
      when the order was placed;
    * serving store / guide: POS store and serving guide (导购工号), mini-program store code and
      guide id; the member's own guide and home store come from dim_member (as of the end of
      the data).
    Incremental by change on DuckDB (macros/incremental_by_change.sql): a nightly restages the orders
    int_orders__unioned restaged since this model last read it, and the orders whose member-side
    inputs moved: the serving guide's WeCom id in the staff list, or the member's row in dim_member
    and fan spells (_member_inputs_check, a checksum of what the order reads of them). -#}
{{ config(**incremental_by_change(
    'order_key', parents=['int_orders__unioned'], deleted_unless=[('int_orders__unioned', 'order_key')])) }}

with members as (
    select one_id, owner_guide_employee_no, owner_guide_userid, home_store_code,
           crm_member_id is not null or card_no is not null as is_loyalty_member
    from {{ ref('dim_member') }}
),

staff as (
    select employee_no, wecom_userid from {{ ref('stg_master__staff') }}
),

fan_spells as (
    select one_id, fan_source, guide_userid, live_from, live_until
    from {{ ref('int_fans__spells') }}
    where one_id is not null
),

member_checks as (
    -- what an order reads of its member: dim_member's guide, store and loyalty, and the fan spells
    select
        coalesce(members.one_id, spells.one_id) as one_id,
        hash(members.owner_guide_employee_no, members.owner_guide_userid, members.home_store_code,
             members.is_loyalty_member, spells.spells_checksum) as member_inputs_check
    from members
    full outer join (
        select one_id,
               {{ rows_checksum(['fan_source', 'guide_userid', 'live_from', 'live_until']) }} as spells_checksum
        from fan_spells
        group by one_id
    ) as spells on spells.one_id = members.one_id
),
{%- if is_incremental() %}

restaged as (
    select changed.order_key
    from {{ ref('int_orders__unioned') }} as changed
    where {{ unconsumed(ref('int_orders__unioned'), 'changed') }}
    union
    select carried.order_key
    from {{ this }} as carried
    left join staff on staff.employee_no = carried.serving_guide_employee_no
    left join member_checks on member_checks.one_id = carried.one_id
    where carried.serving_guide_userid is distinct from staff.wecom_userid
       or carried._member_inputs_check is distinct from member_checks.member_inputs_check
),
{%- endif %}

orders as {{ inline_cte() }} (
    select * from {{ ref('int_orders__unioned') }}
    {%- if is_incremental() %}
    where order_key in (select restaged.order_key from restaged)
    {%- endif %}
),

served as {{ inline_cte() }} (
    select
        orders.*,
        staff.wecom_userid as serving_guide_userid
    from orders
    left join staff
        on staff.employee_no = orders.serving_guide_employee_no
),

fan_at_order as (
    select
        served.order_key,
        max(case when fan_spells.fan_source = 'wecom' and fan_spells.guide_userid = served.serving_guide_userid
                 then 1 else 0 end) = 1 as is_wecom_attributed
    from served
    join fan_spells
        on fan_spells.one_id = served.one_id
       and {{ live_at('fan_spells', 'served.ordered_at') }}
    group by served.order_key
)

select
    served.order_key,
    served.order_id,
    served.channel,
    served.domain,
    served.channel in ('tmall', 'jd', 'douyin', 'mini_program') as is_online,
    served.order_status,
    served.source_status,
    {{ refund_status('served.paid_amount', 'served.refund_amount') }} as refund_status,
    served.is_paid,
    not served.is_paid and not served.is_return and not served.has_unmapped_status as is_cancelled,
    served.is_return,
    served.is_paid and not served.is_return and served.refund_amount < served.paid_amount as is_valid_order,
    served.ordered_at,
    served.paid_at,
    served.booked_at,
    {{ month_of('served.booked_at') }} as order_month,
    served.paid_amount,
    served.refund_amount,
    served.paid_amount - served.refund_amount as net_amount,
    served.has_unmapped_status,
    served.unmapped_amount as unmapped_status_amount,
    served.item_qty,
    served.source_records,
    served.one_id,
    served.one_id is not null as is_identified,
    coalesce(members.is_loyalty_member, false) as is_loyalty_member,
    served.store_code as serving_store_code,
    served.serving_guide_employee_no,
    served.serving_guide_userid,
    members.owner_guide_employee_no,
    members.owner_guide_userid,
    members.home_store_code,
    served.coupon_code,
    fan_at_order.order_key is not null as is_fan_at_order,
    coalesce(fan_at_order.is_wecom_attributed, false) as is_wecom_attributed,
    {%- set rules = private_domain_rules() %}
    {%- for _, condition in rules %}
    {{ 'or ' if not loop.first }}{{ condition }}
    {%- endfor %} as is_private_domain,
    case
        {%- for rule, condition in rules %}
        when {{ condition }} then '{{ rule }}'
        {%- endfor %}
    end as private_domain_rule,
    member_checks.member_inputs_check as _member_inputs_check,
    {{ build_id() }} as _build_id
from served
left join members
    on members.one_id = served.one_id
left join member_checks
    on member_checks.one_id = served.one_id
left join fan_at_order
    on fan_at_order.order_key = served.order_key
