{#- For every node of a weighted undirected graph, how strongly it reaches a seed: the largest,
    over its paths to any seed, of the path's weakest edge (a widest path from all seeds at once;
    a seed has strength 2, above any probability). A node that reaches no seed has no row.

    Why: links taken strongest first, each skipped only when both its sides are already in a
    group holding a seed (Kruskal's order with the rule that no group holds two seeds), skip
    exactly the links whose two ends each reach a seed more strongly than the link itself (see
    int_identity__probabilistic_links). So the groups that order builds follow from one number
    per node, whatever the order in which equal links would be taken.

    Bellman-Ford on (max, min) with a frontier, like connected_components: each round only the
    strengths that rose in the previous round are pushed along their edges; strengths only rise
    and take finitely many values, so the frontier empties (after at most the longest chain of
    links rounds).

    edges_relation: columns (src, dst, weight), either direction. seeds_relation: column (node_num).
    Returns {relation: <scratch_prefix>_result holding (node_num, strength), rounds}; the caller
    drops it (drop_identity_scratch). Fails loudly after max_iterations rounds. -#}
{% macro seed_strength(edges_relation, seeds_relation, scratch_prefix, max_iterations) %}
    {%- set edges = _cc_scratch(scratch_prefix ~ '_edges') -%}
    {%- do run_query(get_create_table_as_sql(False, edges,
            'select src, dst, weight from ' ~ edges_relation ~ ' where src <> dst '
            ~ 'union all select dst as src, src as dst, weight from ' ~ edges_relation ~ ' where src <> dst')) -%}
    {%- set state = namespace(strengths=none, frontier=none, rounds=0, converged=false) -%}
    {%- set state.strengths = _cc_scratch(scratch_prefix ~ '_strengths_0') -%}
    {%- do run_query(get_create_table_as_sql(False, state.strengths,
            'select distinct node_num, cast(2.0 as double) as strength from ' ~ seeds_relation)) -%}
    {%- set state.frontier = state.strengths -%}
    {%- for round in range(1, max_iterations + 1) -%}
        {%- if not state.converged -%}
            {%- set risen = _cc_scratch(scratch_prefix ~ '_risen_' ~ round) -%}
            {%- set risen_sql -%}
                with pushed as (
                    select e.dst as node_num, max(least(f.strength, e.weight)) as strength
                    from {{ state.frontier }} as f
                    join {{ edges }} as e on e.src = f.node_num
                    group by e.dst
                )
                select p.node_num, p.strength
                from pushed as p
                left join {{ state.strengths }} as known on known.node_num = p.node_num
                where known.strength is null or p.strength > known.strength
            {%- endset -%}
            {%- do run_query(get_create_table_as_sql(False, risen, risen_sql)) -%}
            {%- set count = run_query('select count(*) from ' ~ risen).columns[0].values()[0] -%}
            {%- set old_strengths, old_frontier = state.strengths, state.frontier -%}
            {%- if count > 0 -%}
                {%- set state.strengths = _cc_scratch(scratch_prefix ~ '_strengths_' ~ round) -%}
                {%- do run_query(get_create_table_as_sql(False, state.strengths,
                        'select known.node_num, known.strength from ' ~ old_strengths ~ ' as known '
                        ~ 'left join ' ~ risen ~ ' as r on r.node_num = known.node_num where r.node_num is null '
                        ~ 'union all select node_num, strength from ' ~ risen)) -%}
                {%- do adapter.drop_relation(old_strengths) -%}
            {%- endif -%}
            {%- if old_frontier != old_strengths -%}{%- do adapter.drop_relation(old_frontier) -%}{%- endif -%}
            {%- set state.frontier = risen -%}
            {%- set state.rounds = round -%}
            {%- if count == 0 -%}{%- set state.converged = true -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do adapter.drop_relation(state.frontier) -%}
    {%- do adapter.drop_relation(edges) -%}
    {%- if not state.converged -%}
        {%- do adapter.drop_relation(state.strengths) -%}
        {%- do adapter.commit() -%}
        {%- do exceptions.raise_compiler_error(
            'seed_strength did not converge in ' ~ max_iterations ~ ' rounds for ' ~ this
            ~ ': a chain of receiver matches is longer than expected; raise identity_max_iterations') -%}
    {%- endif -%}
    {%- set result = _cc_scratch(scratch_prefix ~ '_result') -%}
    {%- do adapter.rename_relation(state.strengths, result) -%}
    {{ return({'relation': result, 'rounds': state.rounds}) }}
{% endmacro %}
