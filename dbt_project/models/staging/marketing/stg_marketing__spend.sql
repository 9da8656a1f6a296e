{#- One row per day x media channel x WeCom state code x campaign. -#}
with source as (
    {{ deduplicate(source('raw', 'marketing_spend'), partition_by='spend_date, channel, state_code, campaign',
                   order_by=newest_version_first('marketing_spend')) }}
)

select
    spend_date,
    channel as spend_channel,
    state_code,
    campaign,
    'marketing' as channel,
    spend_amount,
    impressions,
    clicks,
    {{ lineage_columns(hashed=false) }}
from source
