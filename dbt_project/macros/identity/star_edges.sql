{#- Edges of a member graph: each record links the nodes of `nodes` it carries as a star around
    its strongest one (lowest priority number, then smallest node_num, a hash of the node: macro
    node_number): n-1 edges instead of n², and the same components. One row per edge (src <
    dst) with the evidence: how many records assert it and one example record.
    nodes: a query of (node_num, priority) of the nodes that may link; observations: the
    record x node relation to read (int_identity__observation_epochs for the member graph). -#}
{% macro star_edges(nodes, observations) %}
with usable as (
    select o.source_table, o.record_key, n.node_num, n.priority
    from {{ observations }} as o
    join ({{ nodes }}) as n on n.node_num = o.node_num
),

anchored as (
    select
        usable.*,
        first_value(node_num) over (
            partition by source_table, record_key order by priority, node_num
            rows between unbounded preceding and unbounded following
        ) as anchor_num
    from usable
)

select
    least(anchor_num, node_num) as src,
    greatest(anchor_num, node_num) as dst,
    count(*) as evidence_records,
    min({{ dbt.concat(['source_table', "':'", 'record_key']) }}) as example_record
from anchored
where node_num <> anchor_num
group by least(anchor_num, node_num), greatest(anchor_num, node_num)
{% endmacro %}
