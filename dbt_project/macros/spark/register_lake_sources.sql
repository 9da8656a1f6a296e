{#- Make every lake source resolvable by source() on adapters that cannot read files in place.

    DuckDB reads the lake through each source's external_location, so this is a no-op there.
    On Spark (on-run-start), every source with meta.lake_glob (a folder or glob under
    $QUANYU_LAKE) becomes a view `<source>.<table>` over its Parquet files, with the schemas
    of all files merged and, if meta.file_name_column is set, the file path in that column
    (DuckDB's filename = true). Views are recreated each run, so new files and new columns
    appear without a refresh.

    Spark skips files whose name starts with '_' (it treats them as hidden), so ingest's empty
    _schema.parquet is not read and the schema comes from the data files: a table with no
    loaded file yet cannot be declared, and the run stops naming it. -#}
{% macro register_lake_sources() %}
    {{ return(adapter.dispatch('register_lake_sources', 'quanyu')()) }}
{% endmacro %}

{% macro default__register_lake_sources() %}{% endmacro %}

{% macro spark__register_lake_sources() %}
    {%- if execute -%}
        {%- set lake = env_var('QUANYU_LAKE', '../var/lake') -%}
        {%- set schemas = [] -%}
        {%- for node in graph.sources.values() if node.config.meta.get('lake_glob') or node.meta.get('lake_glob') -%}
            {%- set meta = node.config.meta if node.config.meta.get('lake_glob') else node.meta -%}
            {%- set location = lake ~ '/' ~ meta['lake_glob'] | replace('{name}', node.name) -%}
            {%- if node.schema not in schemas -%}
                {%- do run_query('create schema if not exists ' ~ node.schema) -%}
                {%- do schemas.append(node.schema) -%}
            {%- endif -%}
            {%- set count_sql = "select count(*) from binaryFile.`" ~ location ~ "` where path like '%.parquet'" -%}
            {%- set files = run_query(count_sql).columns[0].values()[0] -%}
            {%- if files == 0 -%}
                {%- do exceptions.raise_compiler_error(
                    'source ' ~ node.source_name ~ '.' ~ node.name ~ ': no Parquet file in ' ~ location
                    ~ ' yet. Spark infers a lake table from its data files (it ignores _schema.parquet): load at '
                    ~ 'least one file for this table before building on Spark.') -%}
            {%- endif -%}
            {%- set file_column = meta.get('file_name_column') -%}
            {%- do run_query('create or replace view ' ~ node.schema ~ '.' ~ node.identifier ~ ' as select *'
                             ~ (", _metadata.file_path as " ~ file_column if file_column else '')
                             ~ ' from parquet.`' ~ location ~ '`') -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
