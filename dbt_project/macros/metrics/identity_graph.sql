{#- Which identity graph the per-person KPIs rest on (var identity_graph, Issue 18 OneID v2):
    * deterministic: one_id from exact matches of strong and app-scoped identifiers only - every
      link is a shared identifier value;
    * probabilistic (default): the deterministic graph plus the receiver matches (a
      Fellegi-Sunter score above identity_match_threshold; docs/identity.md). The default
      follows the measured precision (docs/identity.md, seed 20261123): on the 3,000-member demo
      the receiver matches add 17,908 pairs at a precision of 0.9978, overall precision is 0.9998
      (exact keys alone 1.0000) and recall 0.894 instead of 0.839; at 100k, 0.9995 and 0.894.
    The identity layer honours the var (identity.bridge_record_member and marts.dim_member hand
    out the one_id of the chosen graph); the marts keep reading one_id from them and state the
    graph in their identity_graph column. Any other value fails every build at the start. -#}
{% macro identity_graphs() -%}
    {{ return(['deterministic', 'probabilistic']) }}
{%- endmacro %}

{#- The validated value of var('identity_graph'); a compiler error naming the var, the value
    and the values allowed for anything else. -#}
{% macro identity_graph() -%}
    {%- set graph = var('identity_graph', 'deterministic') -%}
    {%- if graph not in identity_graphs() -%}
        {%- do exceptions.raise_compiler_error(
            "var('identity_graph') is '" ~ graph ~ "'; expected one of " ~ identity_graphs() | join(', ')
            ~ " (dbt_project.yml or --vars): the per-person KPI marts would not say which identity graph they rest on") -%}
    {%- endif -%}
    {{ return(graph) }}
{%- endmacro %}

{#- The identity_graph column of a per-person KPI mart: the graph its one_id figures rest on. -#}
{% macro identity_graph_column() -%}
    {{ dbt.cast("'" ~ identity_graph() ~ "'", dbt.type_string()) | trim }} as identity_graph
{%- endmacro %}

{#- on-run-start: check the var before anything is built (an empty statement when it is valid). -#}
{% macro validate_identity_graph() -%}
    {%- do identity_graph() -%}
{%- endmacro %}
