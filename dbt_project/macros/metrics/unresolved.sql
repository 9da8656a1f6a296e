{#- How much of a mart's order base no person stands behind (Issue 18: uncertainty in the KPIs).
    An order is unresolved when identity.bridge_record_member resolves none of its records
    (fct_orders.one_id is null: a buyer id every identity rule refused or that links to no
    member, an anonymous POS receipt). Person-level figures (buyers, repurchase, fans vs non-fans,
    overlap, member share) cannot see those orders; the shares say how far to trust them.
    relation: a CTE or alias with fct_orders' one_id, is_valid_order and net_amount columns;
    the sums go in a group by of the mart's own grain. -#}
{% macro unresolved_order_sums(relation=none) -%}
    {%- set p = relation ~ '.' if relation else '' -%}
    sum(case when {{ p }}is_valid_order and {{ p }}one_id is null then 1 else 0 end) as unresolved_orders,
    sum(case when {{ p }}one_id is null then {{ p }}net_amount else 0 end) as unresolved_gmv
{%- endmacro %}

{#- The two shares from those sums and the mart's own denominators (SQL expressions). -#}
{% macro unresolved_shares(orders='orders', gmv='gmv', prefix='') -%}
    {{ ratio(prefix ~ 'unresolved_gmv', gmv) }} as unresolved_gmv_share,
    {{ ratio(prefix ~ 'unresolved_orders', orders) }} as unresolved_order_share
{%- endmacro %}
