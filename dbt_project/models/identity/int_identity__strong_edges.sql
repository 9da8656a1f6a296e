{#- Edges among the linkable person-scoped identifiers only (no phone): the graph of strong
    evidence whose components (int_identity__cores) are the groups a shared phone may or may not
    join (int_identity__limit_conflicts). -#}
{{ star_edges('select node_num, priority from ' ~ ref('int_identity__node_verdicts')
              ~ ' where is_linkable and is_person_scoped', ref('int_identity__observation_nodes')) }}
