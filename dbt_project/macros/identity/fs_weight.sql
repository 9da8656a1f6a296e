{#- The Fellegi-Sunter weight log2(m / u) of a comparison level. `param` is the alias of the
    seed row of the level (identity_match_parameters, joined on comparison and level), `tf` maps
    agreeing levels to the SQL of (holders, total[, sets]): how many profiles hold the agreed value,
    how many hold the part at all, and optionally the product of the two sides' set sizes when the
    level compares sets of values (a member's addresses): n x m values agree by chance about n x m
    times as often as one against one.
    Their u is the value's share among the *other* profiles, leaving the pair out: both sides of an
    agreeing pair hold the value, so they are two of its holders whatever the truth, and counting
    them would make every value look at least 2 / total common (at 100,000 members a seven-digit
    phone or a name held by the pair alone weighed 3.5 bits less than its seed u says). The u of
    a value B holds by chance is what the profiles other than A and B say of it: the posterior
    predictive (holders - 2 + a u0) / (total - 2 + a), smoothed towards the seed's u0 with
    a = var identity_match_tf_smoothing pseudo-profiles, so a brand of many thousand members relies
    on its own frequencies and a tiny one on the seed; then times the set sizes (at most 1).
    Other levels use the seed's u. Null when there is no level (a part missing on either side
    weighs nothing). -#}
{% macro fs_weight(param, level_sql, tf) -%}
    {%- set a = var('identity_match_tf_smoothing') -%}
    ln({{ param }}.m_probability / case {{ level_sql }}
    {%- for level, counts in tf.items() %}
        {%- set others = 'greatest(' ~ counts[0] ~ ' - 2, 0) + ' ~ a ~ ' * ' ~ param ~ '.u_probability' %}
        {%- set base = 'greatest(' ~ counts[1] ~ ' - 2, 0) + ' ~ a %}
        when '{{ level }}' then
        {%- if counts | length > 2 %}
            least(({{ others }}) / ({{ base }}) * {{ counts[2] }}, 1.0)
        {%- else %}
            ({{ others }}) / ({{ base }})
        {%- endif %}
    {%- endfor %}
        else {{ param }}.u_probability
    end) / ln(2)
{%- endmacro %}
