{#- One row per change_external_contact callback. Callbacks are retried and exports overlap,
    so the same (customer, guide, change type, second) is kept once. -#}
{{ config(**incremental_by_load('wecom_contact_events',
                                unique_key=['external_userid', 'guide_userid', 'change_type', 'event_at'])) }}

with source as (
    {{ deduplicate(source('raw', 'wecom_contact_events'),
                   partition_by='external_userid, guide_userid, change_type, event_at',
                   order_by=newest_version_first('wecom_contact_events'),
                   stage_again_by='external_userid, guide_userid, change_type, event_at') }}
),

change_types as (
    select * from {{ ref('wecom_change_types') }}
),

events as (
    select
        source.*,
        coalesce(source.source = 'DELETE_BY_TRANSFER', false) as is_transfer
    from source
)

select
    events.external_userid,
    events.guide_userid,
    events.change_type,
    events.event_at,
    'wecom' as channel,
    {{ code_or_unknown('change_types.event_type', 'events.change_type') }} as event_type,
    events.is_transfer,
    coalesce(change_types.is_churn_signal, false) and not events.is_transfer as is_churn,
    events.source as delete_source,
    events.fail_reason as transfer_fail_reason,
    events.state as state_code,
    events.corp_id,
    events.msg_type,
    events.event as event_name,
    {{ lineage_columns('events', hashed=false) }}
from events
left join change_types
    on change_types.change_type = events.change_type
