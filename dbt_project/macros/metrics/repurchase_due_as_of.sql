{#- The as-of date of the repurchase-due list (客户回访名单): var repurchase_due_as_of
    ('YYYY-MM-DD') when given, else the latest business date of the data (the date of the last
    booked order, int_calendar__months.data_end_at - mart_member_rfm_lifecycle's as_of_date).
    `default` is the SQL of that latest date. A var that is not a date fails the build here,
    naming the var and the value, instead of a cast error deep in the SQL. -#}
{% macro repurchase_due_as_of(default) -%}
    {%- set given = var('repurchase_due_as_of', none) -%}
    {%- if given is none or given == '' -%}
        {{ return(default) }}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', given | string) -%}
        {%- do exceptions.raise_compiler_error(
            "var('repurchase_due_as_of') is '" ~ given ~ "'; expected a date as YYYY-MM-DD (or leave it "
            ~ "unset for the latest business date of the data)") -%}
    {%- endif -%}
    {{ return("cast('" ~ given ~ "' as date)") }}
{%- endmacro %}
