{#- Connected components of an undirected graph, in SQL, in few cheap rounds.

    Min-label propagation with a frontier and pointer jumping. Every node starts labelled with
    itself and every node is in the frontier. Each round only frontier nodes (whose label fell
    in the previous round) push their label along their edges; a node that receives a smaller
    label takes it, then jumps to the label of that label (label(label(v)) is in the same
    component and not larger, so the jump is safe), and joins the next frontier. Labels only
    decrease and stay inside the component; when the frontier is empty, the labels of the two
    ends of every edge are equal (each change was pushed), so every node carries its
    component's smallest node.

    Only the first round reads every edge; later rounds read the edges of the nodes that
    changed, which shrink fast, plus one rewrite of the node labels.

    edges_relation: columns (src, dst) of integer node numbers, either direction.
    nodes_relation: column (node_num) of every node, isolated ones included.
    Returns {relation: <scratch_prefix>_result holding (node_num, label), rounds}; the caller
    drops the result table once it has copied it (drop_identity_scratch). The build
    fails loudly when the frontier is not empty after max_iterations rounds.
    Written with dbt's adapter-dispatched create/drop macros so it runs on DuckDB, Spark, Trino. -#}
{% macro connected_components(edges_relation, nodes_relation, scratch_prefix, max_iterations) %}
    {%- set edges = _cc_scratch(scratch_prefix ~ '_edges') -%}
    {%- do run_query(get_create_table_as_sql(False, edges,
            'select src, dst from ' ~ edges_relation ~ ' where src <> dst '
            ~ 'union select dst as src, src as dst from ' ~ edges_relation ~ ' where src <> dst')) -%}
    {%- set state = namespace(labels=none, frontier=none, rounds=0, converged=false) -%}
    {%- set state.labels = _cc_scratch(scratch_prefix ~ '_labels_0') -%}
    {%- do run_query(get_create_table_as_sql(False, state.labels,
            'select node_num, node_num as label from ' ~ nodes_relation)) -%}
    {%- set state.frontier = state.labels -%}
    {%- for round in range(1, max_iterations + 1) -%}
        {%- if not state.converged -%}
            {%- set changed = _cc_scratch(scratch_prefix ~ '_changed_' ~ round) -%}
            {%- set changed_sql -%}
                with pushed as (
                    select e.dst as node_num, min(f.label) as label
                    from {{ state.frontier }} as f
                    join {{ edges }} as e on e.src = f.node_num
                    group by e.dst
                ),
                improved as (
                    select p.node_num, p.label
                    from pushed as p
                    join {{ state.labels }} as l on l.node_num = p.node_num
                    where p.label < l.label
                )
                select i.node_num, least(i.label, coalesce(hop.label, i.label)) as label
                from improved as i
                left join {{ state.labels }} as hop on hop.node_num = i.label
            {%- endset -%}
            {%- do run_query(get_create_table_as_sql(False, changed, changed_sql)) -%}
            {%- set count = run_query('select count(*) from ' ~ changed).columns[0].values()[0] -%}
            {%- set old_labels, old_frontier = state.labels, state.frontier -%}
            {%- if count > 0 -%}
                {%- set state.labels = _cc_scratch(scratch_prefix ~ '_labels_' ~ round) -%}
                {%- do run_query(get_create_table_as_sql(False, state.labels,
                        'select l.node_num, coalesce(c.label, l.label) as label from ' ~ old_labels
                        ~ ' as l left join ' ~ changed ~ ' as c on c.node_num = l.node_num')) -%}
                {%- do adapter.drop_relation(old_labels) -%}
            {%- endif -%}
            {%- if old_frontier != old_labels -%}{%- do adapter.drop_relation(old_frontier) -%}{%- endif -%}
            {%- set state.frontier = changed -%}
            {%- set state.rounds = round -%}
            {%- if count == 0 -%}{%- set state.converged = true -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do adapter.drop_relation(state.frontier) -%}
    {%- do adapter.drop_relation(edges) -%}
    {%- if not state.converged -%}
        {#- committed before the error: otherwise the model's rollback would bring the scratch table back -#}
        {%- do adapter.drop_relation(state.labels) -%}
        {%- do adapter.commit() -%}
        {%- do exceptions.raise_compiler_error(
            'connected_components did not converge in ' ~ max_iterations ~ ' rounds for ' ~ this
            ~ ': a chain of identifiers is longer than expected; raise identity_max_iterations or look for a hub') -%}
    {%- endif -%}
    {%- set result = _cc_scratch(scratch_prefix ~ '_result') -%}
    {%- do adapter.rename_relation(state.labels, result) -%}
    {{ return({'relation': result, 'rounds': state.rounds}) }}
{% endmacro %}

{#- A scratch table next to the model, dropped first if a failed run left it behind. -#}
{% macro _cc_scratch(identifier) %}
    {%- set relation = api.Relation.create(database=this.database, schema=this.schema, type='table',
                                           identifier=identifier) -%}
    {%- do adapter.drop_relation(relation) -%}
    {{ return(relation) }}
{% endmacro %}
