{#- One row per coupon code with its issue and, if any, its redemption. -#}
{{ config(**incremental_by_load('coupons', unique_key='coupon_code')) }}

with source as (
    {{ deduplicate(source('raw', 'coupons'),
                   partition_by='coupon_code', order_by=newest_version_first('coupons'),
                   stage_again_by='coupon_code') }}
),

statuses as (
    select * from {{ ref('code_map') }} where code_list = 'coupon_status'
)

select
    source.coupon_code,
    'crm' as channel,
    source.template_id,
    source.coupon_name,
    source.face_value,
    source.threshold as threshold_amount,
    source.member_id,
    source.issue_channel,
    source.issued_at,
    source.valid_until as expires_at,
    source.redeemed_at,
    source.redeem_order_id,
    source.redeem_store_code,
    source.status as source_status,
    {{ code_or_unknown('statuses.code', 'source.status') }} as coupon_status,
    source.redeemed_at is not null as is_redeemed,
    {{ lineage_columns('source', hashed=false) }}
from source
left join statuses
    on {{ code_matches('statuses.source_value', 'source.status') }}
