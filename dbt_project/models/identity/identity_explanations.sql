{#- Why records share a one_id. Every edge of the member graph with the two identifier values it
    joins, how many records assert it and one of them (link_type 'edge'); and, for a member with
    one identifier and several records, which no edge explains, that identifier and the records
    it joins by itself (link_type 'shared value': the orders of one JD pin, the receipts of one
    phone). So every member of more than one record is explained, and one whose records a single
    value holds together (a placeholder the rules missed would look like this) is visible with
    that value and its count. Filter on one_id; the records are in bridge_record_member. -#}
with edges as (
    select * from {{ ref('int_identity__edges') }}
),

nodes as (
    select node_num, identifier_type, identifier_value, records from {{ ref('int_identity__nodes') }}
),

node_members as (
    select node_num, one_id from {{ ref('int_identity__node_members') }}
),

single_nodes as (
    select components.node_num
    from {{ ref('int_identity__components') }} as components
    join {{ ref('int_identity__assignments') }} as assignments
        on assignments.component_num = components.component_num
    where assignments.node_count = 1
),

value_examples as (
    select
        observed.node_num,
        count(*) as records,
        min({{ dbt.concat(['observed.source_table', "':'", 'observed.record_key']) }}) as example_record
    from {{ ref('int_identity__observation_nodes') }} as observed
    join single_nodes on single_nodes.node_num = observed.node_num
    group by observed.node_num
    having count(*) > 1
),

links as (
    select
        node_members.one_id,
        'edge' as link_type,
        src.identifier_type as from_identifier_type,
        src.identifier_value as from_identifier_value,
        dst.identifier_type as to_identifier_type,
        dst.identifier_value as to_identifier_value,
        edges.evidence_records,
        edges.example_record
    from edges
    join nodes as src on src.node_num = edges.src
    join nodes as dst on dst.node_num = edges.dst
    join node_members on node_members.node_num = edges.src

    union all

    select
        node_members.one_id,
        'shared value' as link_type,
        nodes.identifier_type as from_identifier_type,
        nodes.identifier_value as from_identifier_value,
        nodes.identifier_type as to_identifier_type,
        nodes.identifier_value as to_identifier_value,
        value_examples.records as evidence_records,
        value_examples.example_record
    from value_examples
    join nodes on nodes.node_num = value_examples.node_num
    join node_members on node_members.node_num = value_examples.node_num
)

select
    one_id,
    link_type,
    from_identifier_type,
    from_identifier_value,
    to_identifier_type,
    to_identifier_value,
    evidence_records,
    {{ dbt.split_part('example_record', "':'", 1) }} as example_source_table,
    substr(example_record, {{ dbt.length(dbt.split_part('example_record', "':'", 1)) }} + 2) as example_record_key
from links
