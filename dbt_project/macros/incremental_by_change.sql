{#- Models incremental by change (issue 20): a nightly restages only the keys whose inputs another
    incremental model rewrote, read from that model's change log instead of from all of its rows.

    The checksum pattern of the identity tables (incremental_by_node.sql) recomputes a checksum of
    every key's inputs and restages the keys that differ: exact and independent of which build ran
    before, but the pass reads every input, which is most of a model's time when the model is a
    join of its inputs (int_orders__unioned: every order's staging rows and their members). A change
    log reads only what changed:

    * every row an incremental model writes carries `_build_id`, the dbt invocation that wrote it
      (`build_id()`): a key a staging model staged again, a record the bridge restaged, an order
      restaged here. Rows kept from earlier builds keep theirs.
    * a child reads the rows of a parent whose `_build_id` it has not consumed (`unconsumed`). What
      it has consumed is a set, per parent, in `meta.consumed_builds` (model, parent, build id),
      not "this run": a run of a few assets (the UI's "Materialize selected") may publish a staging
      model without its children, and the next nightly then consumes both builds' rows. After each
      build of the child (full or incremental) its post-hooks replace its record with the build ids
      present in each parent: everything the child has now read.
    * a key whose parent rows were all deleted leaves no row to read: the child's post-hook deletes
      its keys that no parent holds any more (`delete_unless_in`), an anti-join on the key alone,
      run only after a parent noted a deletion (below; 4-5 s over a 1M brand's order lines). A
      parent row deleted while others of the same child key stay (a POS receipt line whose file
      left the lake) is not seen that way: a staging model notes each build that deleted rows in
      `meta.deletions` (note_vanished_loads; a model incremental by change notes the builds in which
      it deleted keys, note_keys_gone), and a child that has not consumed such a build reads every
      row of that parent as changed, once (a file taken out of the lake is rare; the bridge deletes
      a record only when its staging row changed or left, so it notes none).

    What a child also reads from tables that are not incremental (dim_member, the fan spells, the
    staff list) is compared as the identity tables do it: the child keeps on each row what it read
    (or a checksum of it) and restages the rows where the current value differs.

    The child is carried by fingerprint (orchestration/publish.py, tag incremental_by_change): its
    fingerprint includes its parents', so a change of a parent's code builds both in full. A table
    carried without its record in meta.consumed_builds (a file from before it) reads every parent
    row as unconsumed: restaged in full once, correct either way. Spark builds these models as
    tables (no delete+insert without Delta); `_build_id` is then its own invocation's. -#}

{#- config() of a model incremental by change on `unique_key` (delete+insert replaces every row of a
    restaged key); `parents`: the models whose change log it reads, recorded after each build;
    `deleted_unless`: (model, key expression) pairs whose union holds every key that still exists. -#}
{% macro incremental_by_change(unique_key, parents, deleted_unless) -%}
    {%- set kept = [] -%}
    {%- for model, key in deleted_unless -%}
        {%- do kept.append("('" ~ model ~ "', \"" ~ key ~ "\")") -%}
    {%- endfor -%}
    {%- set gone = "('" ~ unique_key ~ "', [" ~ kept | join(', ') ~ "]) }}" -%}
    {{ return(carried_incremental(unique_key, [
        "{{ note_keys_gone" ~ gone, "{{ delete_unless_in" ~ gone, "{{ forget_consumed_builds() }}",
        "{{ record_consumed_builds(['" ~ parents | join("', '") ~ "']) }}"], 'incremental_by_change')) }}
{%- endmacro %}


{#- The value of `_build_id` on the rows a build writes: its dbt invocation. -#}
{% macro build_id() -%}
    cast('{{ invocation_id }}' as {{ dbt.type_string() }})
{%- endmacro %}

{#- Where a build records which builds' rows each model incremental by change has read: a table of
    the build file outside dbt's schemas, carried to the next build with the tables
    (orchestration/publish.py CARRIED_META). -#}
{% macro consumed_builds_relation() -%}
meta.consumed_builds
{%- endmacro %}

{#- The builds in which a model deleted rows (staging by load: note_vanished_loads). -#}
{% macro deletions_relation() -%}
meta.deletions
{%- endmacro %}

{#- on-run-start, as create_staged_loads (once per run, only by commands that build models). -#}
{% macro create_consumed_builds() -%}
    {%- if execute and target.type == 'duckdb' and flags.WHICH in ('run', 'build') -%}
        {%- do run_query('create schema if not exists meta') -%}
        {%- do run_query('create table if not exists ' ~ consumed_builds_relation()
                         ~ ' (model varchar, parent varchar, build_id varchar)') -%}
        {%- do run_query('create table if not exists ' ~ deletions_relation()
                         ~ ' (model varchar, build_id varchar)') -%}
        {%- do create_vanished_observations() -%}
    {%- endif -%}
{%- endmacro %}

{% macro _relation_name(relation) -%}
{{ relation.schema }}.{{ relation.identifier }}
{%- endmacro %}

{#- A condition on rows of `parent` (a ref, aliased `alias`): written by a build this model has not
    consumed, or any row when the parent deleted rows in a build not consumed. In a full build every
    row counts (the condition is true). -#}
{% macro unconsumed(parent, alias) -%}
    {%- if is_incremental() -%}
    ({{ alias }}._build_id not in ({{ _consumed(parent) }}) or {{ deleted_since_consumed(parent) }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{% macro _consumed(parent) -%}
    select consumed.build_id from {{ consumed_builds_relation() }} as consumed
        where consumed.model = '{{ _relation_name(this) }}' and consumed.parent = '{{ _relation_name(parent) }}'
{%- endmacro %}

{#- A condition: `parent` deleted rows in a build this model has not consumed. -#}
{% macro deleted_since_consumed(parent) -%}
    exists (
        select 1 from {{ deletions_relation() }} as deleted
        where deleted.model = '{{ _relation_name(parent) }}' and deleted.build_id not in ({{ _consumed(parent) }})
    )
{%- endmacro %}

{#- Post-hooks: this model's record is replaced by the build ids each parent holds now. -#}
{% macro forget_consumed_builds() -%}
    delete from {{ consumed_builds_relation() }} where model = '{{ _relation_name(this) }}'
{%- endmacro %}

{% macro record_consumed_builds(parents) -%}
    insert into {{ consumed_builds_relation() }}
    {%- for parent in parents %}
    {{ 'union all' if not loop.first }}
    select distinct '{{ _relation_name(this) }}', '{{ _relation_name(ref(parent)) }}', _build_id from {{ ref(parent) }}
    union all
    select distinct '{{ _relation_name(this) }}', model, build_id from {{ deletions_relation() }}
    where model = '{{ _relation_name(ref(parent)) }}'
    {%- endfor %}
{%- endmacro %}

{#- The rows of this model whose key no row of the `kept` (model, key expression) pairs holds any
    more (every parent row of them was deleted). -#}
{% macro _keys_gone(key, kept) -%}
    not exists (
        select 1 from (
            {%- for model, expression in kept %}
            {{ 'union all' if not loop.first }}
            select {{ expression }} as kept_key from {{ ref(model) }}
            {%- endfor %}
        ) as kept
        where kept.kept_key = {{ this }}.{{ key }}
    )
{%- endmacro %}

{#- Whether one of `models` (names) deleted rows in a build this model has not consumed, asked when
    a hook or the model is rendered for the run. Keys can only be gone after such a build: every
    deletion of a parent row is noted (staging by load: note_vanished_loads; a model incremental by
    change: note_keys_gone; their staging models have no filter that could drop a restaged key), so
    the anti-join of the hooks below (4-5 s over a 1M brand's 10M order lines) runs only then. -#}
{% macro parents_deleted_since_consumed(models) -%}
    {%- if not (execute and is_incremental() and models) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query("select count(*) from " ~ deletions_relation() ~ " as deleted where "
                              ~ _deleted_by_any(models)) -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro _deleted_by_any(models) -%}
    {%- for model in models %}
    {{ 'or ' if not loop.first }}(deleted.model = '{{ _relation_name(ref(model)) }}'
        and deleted.build_id not in ({{ _consumed(ref(model)) }}))
    {%- endfor %}
{%- endmacro %}

{#- Post-hooks of an incremental run after a parent deleted rows: the build is noted in
    meta.deletions when keys are gone (this model's own children then read all of it once, as
    after a staging model's deletions), then the keys are deleted. -#}
{% macro note_keys_gone(key, kept) -%}
    {%- if parents_deleted_since_consumed(kept | map(attribute=0) | list) -%}
    insert into {{ deletions_relation() }}
    select '{{ _relation_name(this) }}', '{{ invocation_id }}'
    where exists (select 1 from {{ this }} where {{ _keys_gone(key, kept) }})
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{% macro delete_unless_in(key, kept) -%}
    {%- if parents_deleted_since_consumed(kept | map(attribute=0) | list) -%}
    delete from {{ this }} where {{ _keys_gone(key, kept) }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Tables of nodes incremental by the observations' change log (int_identity__node_stats,
    int_identity__hub_scores, int_identity__node_spread, int_identity__node_verdicts). A nightly
    reads the change log of int_identity__observation_nodes: the observations it added in builds
    this model has not consumed, and those it noted as deleted (vanished_observations_relation).
    A node's statistics are a function of its own observations: it restages the nodes of those
    observations (nodes_observed_anew). A hub score, a spread or a verdict is a function of the
    records a node is on and of every observation of those records (its neighbours): it restages
    every node now on a record one of those observations belongs to, and every node of a deleted
    one (neighbourhoods_to_restage). Rows are keyed by node_num (delete+insert); a restaged node
    that has no row any more (no observation, no neighbour, no longer a candidate) comes out with
    `empty_column` empty and the first post-hook deletes it. Tagged incremental_by_change: carried
    by fingerprint, a Spark table. -#}
{% macro incremental_by_observations(empty_column) -%}
    {{ return(carried_incremental('node_num', [
        "{{ delete_empty_nodes('" ~ empty_column ~ "') }}", '{{ forget_consumed_builds() }}',
        "{{ record_consumed_builds(['int_identity__observation_nodes']) }}", '{{ record_consumed_vanished() }}',
        '{{ prune_vanished_observations() }}'], 'incremental_by_change')) }}
{%- endmacro %}

{#- The notes of deleted observations this model has not consumed (record_hash, node_num). -#}
{% macro _vanished_unconsumed(observations) -%}
    select vanished.record_hash, vanished.node_num from {{ vanished_observations_relation() }} as vanished
        where vanished.build_id not in ({{ _consumed(observations) }})
{%- endmacro %}

{#- The nodes whose own observations changed since this model last read `observations` (a ref to
    int_identity__observation_nodes): a query of node_num, distinct. -#}
{% macro nodes_observed_anew(observations) -%}
    select added.node_num from {{ observations }} as added where {{ unconsumed(observations, 'added') }}
    union
    select gone.node_num from ({{ _vanished_unconsumed(observations) }}) as gone
{%- endmacro %}

{#- The nodes on a record that changed since this model last read `observations`, and the nodes
    of its deleted observations: a query of node_num, distinct. -#}
{% macro neighbourhoods_to_restage(observations) -%}
    select observed.node_num
    from {{ observations }} as observed
    where observed.record_hash in (
        select added.record_hash from {{ observations }} as added where {{ unconsumed(observations, 'added') }}
        union all
        select gone.record_hash from ({{ _vanished_unconsumed(observations) }}) as gone
    )
    union
    select gone.node_num from ({{ _vanished_unconsumed(observations) }}) as gone
{%- endmacro %}

{#- The last select of a table of nodes: `columns` of the CTE `relation` (keyed by node_num) and
    this build's `_build_id`. In an incremental run one row per node of the CTE `restaged` the model
    defines, with empty columns where `relation` has no row for it now: the first post-hook
    (delete_empty_nodes) deletes those. -#}
{% macro select_node_rows(relation, columns) -%}
select
    {{ 'restaged' if is_incremental() else relation }}.node_num,
    {%- for column in columns %}
    {{ relation }}.{{ column }},
    {%- endfor %}
    {{ build_id() }} as _build_id
{%- if is_incremental() %}
from restaged
left join {{ relation }} on {{ relation }}.node_num = restaged.node_num
{%- else %}
from {{ relation }}
{%- endif %}
{%- endmacro %}

{% macro delete_empty_nodes(empty_column) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ empty_column }} is null
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Post-hooks: the builds of the deletions this model has read count as consumed (a build may
    delete observations and add none); then the notes every consumer has read are pruned. -#}
{% macro record_consumed_vanished() -%}
    insert into {{ consumed_builds_relation() }}
    select distinct '{{ _relation_name(this) }}', '{{ _relation_name(ref('int_identity__observation_nodes')) }}',
           vanished.build_id
    from {{ vanished_observations_relation() }} as vanished
{%- endmacro %}

{% macro prune_vanished_observations() -%}
    {%- set parent = _relation_name(ref('int_identity__observation_nodes')) -%}
    delete from {{ vanished_observations_relation() }} as vanished
    where not exists (
        select 1
        from (select distinct consumer.model from {{ consumed_builds_relation() }} as consumer
              where consumer.parent = '{{ parent }}') as consumers
        where not exists (
            select 1 from {{ consumed_builds_relation() }} as consumed
            where consumed.model = consumers.model and consumed.parent = '{{ parent }}'
              and consumed.build_id = vanished.build_id
        )
    )
{%- endmacro %}
