{#- Why records share a one_id. Every edge of the member graph with the two identifier values it
    joins, how many records assert it and one of them (link_kind 'edge'); for a member with
    one identifier and several records, which no edge explains, that identifier and the records
    it joins by itself (link_kind 'shared value': the orders of one JD pin, the receipts of one
    phone); and each receiver match that joined two deterministic members (link_type
    'probabilistic', link_kind 'receiver match', with its match_probability; each side named by
    its smallest identifier). So every member of more than one record is explained, and one
    whose records a single value holds together (a placeholder the rules missed would look like
    this) is visible with that value and its count. Filter on one_id; the records are in bridge_record_member. -#}
with resolved as (
    select * from {{ ref('int_identity__resolved_components') }}
),

edges as (
    select * from {{ ref('int_identity__edges') }}
),

nodes as (
    select node_num, identifier_type, identifier_value, records from {{ ref('int_identity__nodes') }}
),

node_members as (
    select node_num, one_id from {{ ref('int_identity__node_members') }}
),

probabilistic as (
    -- the receiver matches the member graph used (none unless var identity_graph = 'probabilistic')
    select links.a_num, links.b_num, links.match_probability
    from {{ ref('int_identity__probabilistic_links') }} as links
    where links.is_linked and {{ 'true' if identity_graph() == 'probabilistic' else 'false' }}
),

component_keys as (
    -- a deterministic member's smallest identifier names it in a receiver match
    select ranked.component_num, ranked.node_num, nodes.identifier_type, nodes.identifier_value
    from (
        select
            components.component_num,
            components.node_num,
            row_number() over (partition by components.component_num order by components.node_id asc) as rank_in_component
        from {{ ref('int_identity__components') }} as components
        where components.component_num in (
            select probabilistic.a_num from probabilistic union select probabilistic.b_num from probabilistic
        )
    ) as ranked
    join nodes on nodes.node_num = ranked.node_num
    where ranked.rank_in_component = 1
),

single_nodes as (
    select components.node_num
    from resolved as components
    join {{ ref('int_identity__assignments') }} as assignments
        on assignments.component_num = components.component_num
    where assignments.node_count = 1
),

value_examples as (
    select
        observed.node_num,
        count(*) as records,
        min({{ dbt.concat(['observed.source_table', "':'", 'observed.record_key']) }}) as example_record
    from {{ ref('int_identity__observation_epochs') }} as observed
    join single_nodes on single_nodes.node_num = observed.node_num
    group by observed.node_num
    having count(*) > 1
),

links as (
    select
        node_members.one_id,
        'deterministic' as link_type,
        'edge' as link_kind,
        src.identifier_type as from_identifier_type,
        src.identifier_value as from_identifier_value,
        dst.identifier_type as to_identifier_type,
        dst.identifier_value as to_identifier_value,
        edges.evidence_records,
        1.0 as match_probability,
        edges.example_record
    from edges
    join nodes as src on src.node_num = edges.src
    join nodes as dst on dst.node_num = edges.dst
    join node_members on node_members.node_num = edges.src

    union all

    select
        node_members.one_id,
        'deterministic' as link_type,
        'shared value' as link_kind,
        nodes.identifier_type as from_identifier_type,
        nodes.identifier_value as from_identifier_value,
        nodes.identifier_type as to_identifier_type,
        nodes.identifier_value as to_identifier_value,
        value_examples.records as evidence_records,
        1.0 as match_probability,
        value_examples.example_record
    from value_examples
    join nodes on nodes.node_num = value_examples.node_num
    join node_members on node_members.node_num = value_examples.node_num

    union all

    select
        node_members.one_id,
        'probabilistic' as link_type,
        'receiver match' as link_kind,
        a_key.identifier_type as from_identifier_type,
        a_key.identifier_value as from_identifier_value,
        b_key.identifier_type as to_identifier_type,
        b_key.identifier_value as to_identifier_value,
        {{ dbt.cast('null', api.Column.translate_type('bigint')) }} as evidence_records,
        links.match_probability,
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as example_record
    from probabilistic as links
    join component_keys as a_key on a_key.component_num = links.a_num
    join component_keys as b_key on b_key.component_num = links.b_num
    join node_members on node_members.node_num = a_key.node_num
)

select
    one_id,
    link_type,
    link_kind,
    from_identifier_type,
    from_identifier_value,
    to_identifier_type,
    to_identifier_value,
    evidence_records,
    match_probability,
    {{ dbt.split_part('example_record', "':'", 1) }} as example_source_table,
    substr(example_record, {{ dbt.length(dbt.split_part('example_record', "':'", 1)) }} + 2) as example_record_key
from links
