{#- The Fellegi-Sunter weight log2(m / u) of a comparison level. `param` is the alias of the
    seed row of the level (identity_match_parameters, joined on comparison and level), `tf` maps
    agreeing levels to the SQL of (holders, total[, sets]): how many profiles hold the agreed value,
    how many hold the part at all, and optionally the product of the two sides' set sizes when the
    level compares sets of values (a member's addresses): n x m values agree by chance about n x m
    times as often as one against one. Their u is that share smoothed towards the seed's u with var
    identity_match_tf_smoothing pseudo-profiles, (holders + a u0) / (total + a), times the set sizes
    (at most 1), so a brand of many thousand members relies on its own frequencies and a tiny one
    on the seed. Other levels use the seed's u. Null when there is no level (a part missing on
    either side weighs nothing). -#}
{% macro fs_weight(param, level_sql, tf) -%}
    {%- set a = var('identity_match_tf_smoothing') -%}
    ln({{ param }}.m_probability / case {{ level_sql }}
    {%- for level, counts in tf.items() %}
        when '{{ level }}' then
        {%- if counts | length > 2 %}
            least(({{ counts[0] }} + {{ a }} * {{ param }}.u_probability) / ({{ counts[1] }} + {{ a }}) * {{ counts[2] }}, 1.0)
        {%- else %}
            ({{ counts[0] }} + {{ a }} * {{ param }}.u_probability) / ({{ counts[1] }} + {{ a }})
        {%- endif %}
    {%- endfor %}
        else {{ param }}.u_probability
    end) / ln(2)
{%- endmacro %}
