{#- Why identifiers share a one_id: every edge of the member graph with the two identifier
    values it joins, how many records assert it and one of them. Filter on one_id to see how a
    member was assembled; the records are in bridge_record_member. -#}
with edges as (
    select * from {{ ref('int_identity__edges') }}
),

nodes as (
    select node_num, identifier_type, identifier_value from {{ ref('int_identity__nodes') }}
),

node_members as (
    select node_num, one_id from {{ ref('int_identity__node_members') }}
)

select
    node_members.one_id,
    src.identifier_type as from_identifier_type,
    src.identifier_value as from_identifier_value,
    dst.identifier_type as to_identifier_type,
    dst.identifier_value as to_identifier_value,
    edges.evidence_records,
    {{ dbt.split_part('edges.example_record', "':'", 1) }} as example_source_table,
    substr(edges.example_record, {{ dbt.length(dbt.split_part('edges.example_record', "':'", 1)) }} + 2) as example_record_key
from edges
join nodes as src on src.node_num = edges.src
join nodes as dst on dst.node_num = edges.dst
join node_members on node_members.node_num = edges.src
