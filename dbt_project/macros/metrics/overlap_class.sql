{#- A buyer's channel overlap class from their online and offline order counts: 'both',
    'online_only', 'offline_only', null with neither (mart_channel_overlap_monthly, for the
    trailing-twelve-month level at a step and the level before it). -#}
{% macro overlap_class(online_orders, offline_orders) -%}
case
            when {{ online_orders }} > 0 and {{ offline_orders }} > 0 then 'both'
            when {{ online_orders }} > 0 then 'online_only'
            when {{ offline_orders }} > 0 then 'offline_only'
        end
{%- endmacro %}
