{#- dbt.dateadd on Spark as timestampadd on a TIMESTAMP_NTZ (wall clock), like DuckDB's
    `date_or_timestamp + interval`. dbt-spark's version round-trips through unix seconds:
    it drops sub-second digits and reinterprets the wall clock in the session time zone. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, cast({{ interval }} as int), cast({{ from_date_or_timestamp }} as timestamp_ntz))
{%- endmacro %}
