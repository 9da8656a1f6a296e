{#- Connected components of an undirected graph, in SQL, in few rounds.

    Min-label propagation with pointer jumping: every node starts labelled with itself; each
    round a node takes the smallest label among itself and its neighbours, then jumps to the
    label of its label (label(label(v)) is in the same component, so the jump is safe). Labels
    only decrease and stay inside the component, so the fixpoint labels every node with its
    component's smallest node. Pointer jumping makes the number of rounds grow with the log of
    the component diameter rather than the diameter.

    edges_relation: columns (src, dst) of integer node numbers, either direction.
    nodes_relation: column (node_num) of every node, isolated ones included.
    Returns {relation: <scratch_prefix>_result holding (node_num, label), rounds}; the caller
    drops the result table once it has copied it (drop_identity_scratch). The build
    fails loudly when the labels still change after max_iterations rounds.
    Written with dbt's adapter-dispatched create/drop macros so it runs on DuckDB, Spark, Trino. -#}
{% macro connected_components(edges_relation, nodes_relation, scratch_prefix, max_iterations) %}
    {%- set edges = api.Relation.create(database=this.database, schema=this.schema, type='table',
                                         identifier=scratch_prefix ~ '_edges') -%}
    {%- do adapter.drop_relation(edges) -%}
    {%- do run_query(get_create_table_as_sql(False, edges,
            'select src, dst from ' ~ edges_relation ~ ' where src <> dst '
            ~ 'union select dst as src, src as dst from ' ~ edges_relation ~ ' where src <> dst')) -%}
    {%- set state = namespace(current=none, rounds=0, converged=false) -%}
    {%- set first = api.Relation.create(database=this.database, schema=this.schema, type='table',
                                         identifier=scratch_prefix ~ '_labels_0') -%}
    {%- do adapter.drop_relation(first) -%}
    {%- do run_query(get_create_table_as_sql(False, first,
            'select node_num, node_num as label from ' ~ nodes_relation)) -%}
    {%- set state.current = first -%}
    {%- for round in range(1, max_iterations + 1) -%}
        {%- if not state.converged -%}
            {%- set following = api.Relation.create(database=this.database, schema=this.schema, type='table',
                                                     identifier=scratch_prefix ~ '_labels_' ~ round) -%}
            {%- do adapter.drop_relation(following) -%}
            {%- set step_sql -%}
                with propagated as (
                    select labels.node_num, least(labels.label, coalesce(min(neighbour.label), labels.label)) as label
                    from {{ state.current }} as labels
                    left join {{ edges }} as e on e.src = labels.node_num
                    left join {{ state.current }} as neighbour on neighbour.node_num = e.dst
                    group by labels.node_num, labels.label
                )
                select p.node_num, least(p.label, coalesce(hop.label, p.label)) as label
                from propagated as p
                left join propagated as hop on hop.node_num = p.label
            {%- endset -%}
            {%- do run_query(get_create_table_as_sql(False, following, step_sql)) -%}
            {%- set changed = run_query('select count(*) from ' ~ following ~ ' as a join ' ~ state.current
                                        ~ ' as b on a.node_num = b.node_num where a.label <> b.label').columns[0].values()[0] -%}
            {%- do adapter.drop_relation(state.current) -%}
            {%- set state.current = following -%}
            {%- set state.rounds = round -%}
            {%- if changed == 0 -%}{%- set state.converged = true -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do adapter.drop_relation(edges) -%}
    {%- set result = api.Relation.create(database=this.database, schema=this.schema, type='table',
                                          identifier=scratch_prefix ~ '_result') -%}
    {%- do adapter.drop_relation(result) -%}
    {%- do adapter.rename_relation(state.current, result) -%}
    {%- if not state.converged -%}
        {%- do adapter.drop_relation(result) -%}
        {%- do exceptions.raise_compiler_error(
            'connected_components did not converge in ' ~ max_iterations ~ ' rounds for ' ~ this
            ~ ': a chain of identifiers is longer than expected; raise identity_max_iterations or look for a hub') -%}
    {%- endif -%}
    {{ return({'relation': result, 'rounds': state.rounds}) }}
{% endmacro %}
