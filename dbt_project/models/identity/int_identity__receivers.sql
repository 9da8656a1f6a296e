{#- The receiver of every order that carries one (var identity_receiver_tables; the columns come
    from macro receiver_columns: keyed hashes of the name, surname, masked phone's visible tail
    and address; region names as text), and what a registration says of the same person where
    the var maps its columns (a CRM member's name and phone tail), with the deterministic component (int_identity__components)
    of the order's record. The raw material of the probabilistic tier: what a brand's analyst
    matches by hand today (收货人 + 手机尾号 + 地址). Orders whose identifiers all failed (no
    component) are left out: the tier links members, not loose records. -#}
{%- set receiver_columns = ['receiver_name_hash', 'receiver_surname_hash', 'receiver_name_phonetic_hash',
                            'receiver_mobile_prefix', 'receiver_mobile_tail4_hash',
                            'receiver_mobile_tail2_hash', 'receiver_province', 'receiver_city', 'receiver_district',
                            'receiver_address_hash', 'receiver_street_hash'] -%}
{%- set parts = [] -%}
{%- for entry in var('identity_receiver_tables') -%}
    {%- set table = entry.table -%}
    {%- set mapped = entry.get('columns') -%}
    {%- set declared = var('identity_sources') | selectattr('table', 'equalto', table) | list -%}
    {%- if declared | length != 1 -%}
        {{ exceptions.raise_compiler_error("identity_receiver_tables: '" ~ table ~ "' is not one table of var('identity_sources')") }}
    {%- endif -%}
    {%- set src = declared[0] -%}
    {%- set part -%}
    select
        {{ record_hash("'" ~ table ~ "'", record_key(src.record_key)) }} as record_hash,
        {{ dbt.concat(["'" ~ table ~ "'", "':'", record_key(src.record_key)]) }} as record_name,
        {%- for column in receiver_columns %}
        {% if mapped is none -%}
        {{ column }}
        {%- elif column in mapped -%}
        {{ mapped[column] }} as {{ column }}
        {%- else -%}
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as {{ column }}
        {%- endif %}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref(src.model) }}
    where coalesce(
        {%- for column in ['receiver_name_hash', 'receiver_surname_hash', 'receiver_mobile_tail2_hash', 'receiver_address_hash'] %}
        {{ mapped[column] if mapped is not none and column in mapped else ('null' if mapped is not none else column) }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    ) is not null
    {%- endset -%}
    {%- do parts.append(part) -%}
{%- endfor %}

with receivers as (
    {{ parts | join('\n    union all\n') }}
),

record_components as (
    select observed.record_hash, max(components.component_num) as component_num
    from {{ ref('int_identity__observation_epochs') }} as observed
    join {{ ref('int_identity__components') }} as components on components.node_num = observed.node_num
    group by observed.record_hash
)

select record_components.component_num, receivers.*
from receivers
join record_components on record_components.record_hash = receivers.record_hash
