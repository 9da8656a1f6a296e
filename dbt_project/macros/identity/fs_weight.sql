{#- The Fellegi-Sunter weight log2(m / u) of a comparison level. `param` is the alias of the
    seed row of the level (identity_match_parameters, joined on comparison and level), `tf` maps
    agreeing levels to the SQL of (holders, total[, sets]): how many profiles hold the agreed value,
    how many hold the part at all, and optionally the product of the two sides' set sizes when the
    level compares sets of values (a member's addresses): n x m values agree by chance about n x m
    times as often as one against one. Their u is that share smoothed towards the seed's u with var
    identity_match_tf_smoothing pseudo-profiles, (holders + a u0) / (total + a), times the set sizes
    (at most 1), so a brand of many thousand members relies on its own frequencies and a tiny one
    on the seed. Other levels use the seed's u. Null when there is no level (a part missing on
    either side weighs nothing).
    With var identity_match_tf_leave_pair_out the share leaves the compared pair out,
    (holders - 2 + a u0) / (total - 2 + a): both sides of an agreeing pair hold the value whatever
    the truth, so counting them makes every value look at least 2 / total common (a full name held
    by the pair alone weighs 3.5 bits less than what the other profiles say of it). It is the
    posterior predictive of the profiles other than A and B: the chance that someone else holds
    A's value. Measured in docs/identity.md (recall +0.0056 at 3,000 members, +0.0027 at 100,000,
    precision kept); off by default because in a brand of a handful of profiles it lets a namesake
    of the same district with another phone reach the threshold. -#}
{% macro fs_weight(param, level_sql, tf) -%}
    {%- set a = var('identity_match_tf_smoothing') -%}
    {%- set pair = 2 if var('identity_match_tf_leave_pair_out') else 0 -%}
    ln({{ param }}.m_probability / case {{ level_sql }}
    {%- for level, counts in tf.items() %}
        {%- if pair %}
        {%- set others = 'greatest(' ~ counts[0] ~ ' - ' ~ pair ~ ', 0) + ' ~ a ~ ' * ' ~ param ~ '.u_probability' %}
        {%- set base = 'greatest(' ~ counts[1] ~ ' - ' ~ pair ~ ', 0) + ' ~ a %}
        {%- else %}
        {%- set others = counts[0] ~ ' + ' ~ a ~ ' * ' ~ param ~ '.u_probability' %}
        {%- set base = counts[1] ~ ' + ' ~ a %}
        {%- endif %}
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
