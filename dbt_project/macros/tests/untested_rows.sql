{#- The uniqueness tests of a table with a change log read only the keys of rows no passing run of the
    same test has read (issue 20: at 1M members the unique and unique_combination_of_columns tests of
    the order chain, the bridge and the staging it reads took 39 of a night's test-seconds for rows
    restaged under 1 %; with this 6).

    A table with a change log (a `_build_id` column: the dbt invocation that wrote each row, macro
    build_id) is tested as a set of builds. After a run in which such a test passed, the run's
    on-run-end (record_tests_passed) records in `meta.tests_passed` the build ids the table holds,
    with the test's fingerprint (orchestration/publish.py uniqueness_test_fingerprints: its arguments and
    config, the SQL of its macros and of this one, its model's fingerprint; written into the build
    file by prepare_build as `meta.test_fingerprints`). The next run of the same test reads the rows
    that share a key with a row of a build not recorded for that fingerprint: the night's restaged
    keys, or every row when the test, its macros or its model changed, or when nothing was recorded
    (a file from before this, a test never run on it). Exact: a row never changes under
    its build id (every row a build writes carries the build's id), so a duplicate has a row written
    after the other was tested, and the test finds it when that row is read with every row of its key.

    Only in `dbt build` (the orchestration's command; a `dbt test` by hand reads every row and records
    nothing, so it also runs on the served file, which is read-only), and only for tests with
    severity error and the default thresholds (`!= 0`): a warning keeps reporting old rows,
    a threshold counts the table. Columns must be plain names. Tests of single rows (not_null,
    accepted_values) read every row: a scan of the column costs what the filter on `_build_id` would.
    Relationships (a parent may lose the key later), singular tests and other generic tests read every
    row, as before. DuckDB only; Spark reads everything. -#}

{% macro duckdb__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set key_columns = untested_rows_key(model) if execute and flags.WHICH == 'build' else none -%}
    {%- if key_columns is none or not untested_rows_recorded() -%}
        {{ return(dbt.default__get_where_subquery(relation)) }}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} as tested
        where {% if where %}({{ where }}) and {% endif %}exists (
            select 1 from {{ relation }} as night
            where {% if where %}({{ where }}) and {% endif %}{{ untested_row('night', model.unique_id) }}
            {%- for column in key_columns %}
              and night.{{ column }} is not distinct from tested.{{ column }}
            {%- endfor %}
        )) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{#- For a test node (a dict at a test's compilation, an object in on-run-end's results): none when
    the test reads every row; else the key columns whose duplicates it looks for. -#}
{% macro untested_rows_key(node) -%}
    {%- set meta = node.test_metadata -%}
    {%- if not meta or meta.namespace or not node.attached_node or node.attached_node not in graph.nodes -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if '_build_id' not in graph.nodes[node.attached_node].columns -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set config = node.config -%}
    {%- if (config.severity | lower) != 'error' or config.warn_if != '!= 0' or config.error_if != '!= 0'
          or config.fail_calc != 'count(*)' or config.limit -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if meta.name == 'unique' -%}
        {%- set columns = [meta.kwargs.column_name] -%}
    {%- elif meta.name == 'unique_combination_of_columns' and not meta.kwargs.quote_columns -%}
        {%- set columns = meta.kwargs.combination_of_columns -%}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for column in columns -%}
        {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', column | string) -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns | list) }}
{%- endmacro %}

{#- A row of `alias` that test `test_id` has not passed on with its current fingerprint. -#}
{% macro untested_row(alias, test_id) -%}
    ({{ alias }}._build_id is null or {{ alias }}._build_id not in (
        select passed.build_id
        from {{ tests_passed_relation() }} as passed
        join {{ test_fingerprints_relation() }} as current_test
            on current_test.test_id = passed.test_id
           and current_test.fingerprint = passed.fingerprint
        where passed.test_id = '{{ test_id }}'))
{%- endmacro %}

{% macro tests_passed_relation() -%}
meta.tests_passed
{%- endmacro %}

{% macro test_fingerprints_relation() -%}
meta.test_fingerprints
{%- endmacro %}

{#- Both records exist in the file tested (a build file: orchestration/publish.py prepare_build writes
    them; a file built without it reads every row and records nothing). -#}
{% macro untested_rows_recorded() -%}
    {%- for name in ['tests_passed', 'test_fingerprints'] -%}
        {%- if adapter.get_relation(database=target.database, schema='meta', identifier=name) is none -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{#- on-run-end: for each test of a table with a change log that passed in this run, the build ids
    its table holds now, under the test's current fingerprint (none recorded without one); committed
    here (dbt rolls the hook's connection back after on-run-end). -#}
{% macro record_tests_passed(results) -%}
    {%- if execute and target.type == 'duckdb' and flags.WHICH == 'build' and untested_rows_recorded() -%}
        {%- set by_model = {} -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'test' and result.status == 'pass'
                  and untested_rows_key(result.node) is not none -%}
                {%- do by_model.setdefault(result.node.attached_node, []).append(result.node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for model_id, test_ids in by_model.items() -%}
            {%- set node = graph.nodes[model_id] -%}
            {%- set table = api.Relation.create(database=node.database, schema=node.schema,
                                                identifier=node.alias or node.name) -%}
            {%- set listed = "'" ~ test_ids | join("', '") ~ "'" -%}
            {%- do run_query('delete from ' ~ tests_passed_relation() ~ ' where test_id in (' ~ listed ~ ')') -%}
            {%- do run_query('insert into ' ~ tests_passed_relation()
                ~ ' select current_test.test_id, current_test.fingerprint, builds._build_id from '
                ~ test_fingerprints_relation() ~ ' as current_test cross join (select distinct _build_id from '
                ~ table ~ ' where _build_id is not null) as builds where current_test.test_id in (' ~ listed ~ ')') -%}
        {%- endfor -%}
        {%- if by_model -%}
            {%- do adapter.commit() -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}
