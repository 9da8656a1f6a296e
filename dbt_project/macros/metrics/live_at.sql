{#- A fan spell (a WeCom relationship or a group membership) is live at instant `at` when it
    started strictly before `at` (or its start is unknown: it predates the data) and has not
    ended before `at`. A spell that ends exactly at `at` is live at `at` and ends in the period
    that starts at `at`, so stock and flow reconcile: live at start + starts - ends = live at end. -#}
{% macro live_at(spell, at) -%}
(({{ spell }}.live_from is null or {{ spell }}.live_from < {{ at }})
 and ({{ spell }}.live_until is null or {{ spell }}.live_until >= {{ at }}))
{%- endmacro %}
