{#- Seeds on Spark are read by Spark's own CSV reader, as DuckDB's dbt adapter COPYs the file:
    only an empty cell is NULL (a text 'null' stays text, as identity_blocklist needs), quotes
    and apostrophes survive, and each column is cast to the type dbt inferred for it.
    dbt-spark's version goes through agate (which turns 'null' into NULL) and pastes values
    between quotes unescaped (a text with an apostrophe breaks the insert). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set csv_view = this.identifier ~ '__csv' -%}
    {%- set casts = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
        {%- do casts.append('cast(' ~ adapter.quote(col_name) ~ ' as ' ~ type ~ ')') -%}
    {%- endfor -%}
    {%- set read_sql -%}
        create or replace temporary view {{ csv_view }} using csv options (
            path '{{ model.root_path }}/{{ model.original_file_path }}', header 'true',
            sep '{{ model['config'].get('delimiter', ',') }}', quote '"', escape '"',
            multiLine 'true', encoding 'UTF-8', mode 'FAILFAST')
    {%- endset -%}
    {%- set sql -%}
        insert into {{ this.render() }} select {{ casts | join(', ') }} from {{ csv_view }}
    {%- endset -%}
    {%- do adapter.add_query(read_sql) -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- do adapter.add_query('drop view if exists ' ~ csv_view) -%}
    {{ return(sql) }}
{% endmacro %}
