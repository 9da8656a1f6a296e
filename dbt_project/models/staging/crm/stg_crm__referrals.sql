{#- One row per referral (转介绍) invite record. -#}
with source as (
    {{ deduplicate(source('raw', 'referrals'), partition_by='referral_id', order_by=newest_version_first('referrals')) }}
),

statuses as (
    select * from {{ ref('code_map') }} where code_list = 'referral_status'
)

select
    source.referral_id,
    'crm' as channel,
    source.inviter_member_id,
    source.invitee_member_id,
    source.invitee_openid,
    source.invitee_mobile_hash,
    source.invitee_mobile_status,
    source.invited_at,
    source.registered_at as invitee_registered_at,
    source.first_order_id,
    source.status as source_status,
    {{ code_or_unknown('statuses.code', 'source.status') }} as referral_status,
    source.reward_points,
    {{ lineage_columns('source') }}
from source
left join statuses
    on {{ code_matches('statuses.source_value', 'source.status') }}
