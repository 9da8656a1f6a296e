{#- dbt run-operation explain_one_id --args '{one_id: QY...}'
    Prints how a member was assembled: its identifiers, the edges that joined them with their
    evidence, and its merge/split history. On the profile's default target it reads the served
    file read-only; python -m orchestration.explain QY... prints the same (and the member's
    records) without dbt. -#}
{% macro explain_one_id(one_id) %}
    {%- set quoted = "'" ~ one_id | replace("'", "''") ~ "'" -%}
    {%- set identifiers = run_query("select identifier_type, identifier_value from " ~ ref('identity_registry')
                                    ~ " where one_id = " ~ quoted ~ " order by 1, 2") -%}
    {%- set edges = run_query("select link_type, from_identifier_type, from_identifier_value, "
                              ~ "to_identifier_type, to_identifier_value, "
                              ~ "evidence_records, example_source_table, example_record_key from " ~ ref('identity_explanations')
                              ~ " where one_id = " ~ quoted ~ " order by 1, 2, 3, 4, 5") -%}
    {%- set changes = run_query("select change_type, one_id, other_one_id, identifiers_moved, run_at from "
                                ~ ref('identity_id_changes') ~ " where one_id = " ~ quoted ~ " or other_one_id = "
                                ~ quoted ~ " order by run_at") -%}
    {%- do print("one_id " ~ one_id ~ ": " ~ identifiers | length ~ " identifiers") -%}
    {%- for row in identifiers -%}{%- do print("  " ~ row[0] ~ " = " ~ row[1]) -%}{%- endfor -%}
    {%- do print("links (type: from -> to, evidence records, example record):") -%}
    {%- for row in edges -%}
        {%- do print("  " ~ row[0] ~ ": " ~ row[1] ~ ":" ~ row[2] ~ " -> " ~ row[3] ~ ":" ~ row[4]
                     ~ "  x" ~ row[5] ~ "  e.g. " ~ row[6] ~ " " ~ row[7]) -%}
    {%- endfor -%}
    {%- do print("history:") -%}
    {%- for row in changes -%}
        {%- do print("  " ~ row[4] ~ " " ~ row[0] ~ " " ~ row[1] ~ " <- " ~ row[2] ~ " (" ~ row[3] ~ " identifiers)") -%}
    {%- endfor -%}
{% endmacro %}
