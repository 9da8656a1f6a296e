{#- The rules that credit an order to the private domain (私域), in precedence order: an order
    is credited by the first rule it meets (fct_orders.private_domain_rule), so the rules
    partition private-domain GMV (mart_private_domain_gmv_by_rule_monthly; test
    assert_private_domain_rules_reconcile). Each rule: (name, condition on the fct_orders CTE
    `served` joined to `fan_at_order`).
    1. mini_program_order: placed in a private-domain channel (seeds/sales_channels domain
       private: the WeChat mini-program mall) - the brand owns the channel, whoever buys;
    2. wecom_guide_friend: any other channel, placed with a serving guide who was a live WeCom
       friend of the buyer when the order was placed (POS receipts with a guide; marketplace
       orders carry no serving guide). A mini-program order served by a friend guide is
       credited by rule 1; fct_orders.is_wecom_attributed still says it was attributed.
    Customer groups add no rule: group purchases happen in the mini-program. -#}
{% macro private_domain_rules() -%}
    {{ return([
        ('mini_program_order', "served.domain = 'private'"),
        ('wecom_guide_friend', "coalesce(fan_at_order.is_wecom_attributed, false)"),
    ]) }}
{%- endmacro %}

{#- The rule names, one row each: select ... as private_domain_rule (a grid of rules). -#}
{% macro private_domain_rule_rows() -%}
    {%- for rule, _ in private_domain_rules() %}
    select {{ dbt.cast("'" ~ rule ~ "'", dbt.type_string()) }} as private_domain_rule
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
