{#- The matching key of a merchant code (商家编码 / 货号): trimmed, upper case, every space
    (ASCII and the full-width U+3000) removed. Shop operators type codes by hand on marketplace
    listings: `lj-drip-10`, `LJ- DRIP-10` and ` LJ-DRIP-10` are the master's LJ-DRIP-10. Nothing
    else is folded: a hyphen typed as an underscore stays a different code (and is listed in
    quality_unmapped_products). -#}
{% macro merchant_code_key(expression) -%}
upper(replace(replace(trim({{ expression }}), ' ', ''), '　', ''))
{%- endmacro %}
