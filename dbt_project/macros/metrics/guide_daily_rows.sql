{#- WeCom's daily statistics per guide (stg_wecom__guide_daily_stats, stg_wecom__group_daily_stats)
    as rows for fan_out_scopes: the reporting month (from the caller's `months` CTE, so days
    outside the window drop out), the guide's store from the staff master (null for a guide it
    does not know) and the guide, with the given columns. -#}
{% macro guide_daily_rows(stats_model, guide_column, columns, months='months') -%}
    select
        {{ months }}.month,
        staff.store_code,
        stats.{{ guide_column }} as guide_userid
        {%- for column in columns %},
        stats.{{ column }}
        {%- endfor %}
    from {{ ref(stats_model) }} as stats
    join {{ months }}
        on {{ months }}.month = {{ month_of('stats.stat_date') }}
    left join {{ ref('stg_master__staff') }} as staff
        on staff.wecom_userid = stats.{{ guide_column }}
{%- endmacro %}
