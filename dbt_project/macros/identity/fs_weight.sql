{#- The Fellegi-Sunter weight log2(m / u) of `level_sql`'s level of comparison `comparison`
    (seed identity_match_parameters). `tf` maps levels to the SQL of their term-frequency u (the
    value's share among the profiles); other levels use the seed's u. Null when the level is
    null (a part missing on either side weighs nothing). -#}
{% macro fs_weight(comparison, level_sql, tf) -%}
    case {{ level_sql }}
    {%- for level, u_sql in tf.items() %}
        when '{{ level }}' then ln(
            (select m_probability from params where comparison = '{{ comparison }}' and level = '{{ level }}')
            / greatest({{ u_sql }}, 1e-9)) / ln(2)
    {%- endfor %}
        when 'different' then ln(
            (select m_probability from params where comparison = '{{ comparison }}' and level = 'different')
            / (select u_probability from params where comparison = '{{ comparison }}' and level = 'different')) / ln(2)
    end
{%- endmacro %}
