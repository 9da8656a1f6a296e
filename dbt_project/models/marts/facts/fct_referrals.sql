{#- One row per referral (转介绍) invite: the inviter and invitee members and how far the invitee
    came (registered, converted = first order). The inviter's member comes from the CRM member id
    in the identity registry; the invitee's from the referral record in bridge_record_member
    (invitee member id, openid or mobile). -#}
with referrals as (
    select * from {{ ref('stg_crm__referrals') }}
)

select
    referrals.referral_id,
    referrals.inviter_member_id,
    inviters.one_id as inviter_one_id,
    referrals.invitee_member_id,
    invitees.one_id as invitee_one_id,
    referrals.invited_at,
    {{ month_of('referrals.invited_at') }} as invite_month,
    referrals.invitee_registered_at,
    referrals.first_order_id,
    referrals.referral_status,
    referrals.referral_status in ('registered', 'converted') or referrals.invitee_registered_at is not null as is_registered,
    referrals.referral_status = 'converted' or referrals.first_order_id is not null as is_converted,
    referrals.reward_points
from referrals
left join {{ ref('identity_registry') }} as inviters
    on inviters.identifier_type = 'crm_member_id'
   and inviters.identifier_value = referrals.inviter_member_id
left join {{ ref('bridge_record_member') }} as invitees
    on invitees.source_table = 'referrals'
   and invitees.record_key = {{ record_key(['referral_id'], 'referrals.') }}
