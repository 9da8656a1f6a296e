{#- Edges of the member graph between linkable nodes (int_identity__nodes): each record links its
    linkable identifiers as a star around its strongest one (macro star_edges). One row per edge
    with the evidence: how many records assert it and one example record for the explanation
    table. -#}
{{ star_edges('select node_num, priority from ' ~ ref('int_identity__nodes') ~ ' where is_linkable',
              ref('int_identity__observation_epochs')) }}
