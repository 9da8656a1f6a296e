{#- One row per day x media channel x WeCom state code x campaign. -#}
with source as (
    {{ deduplicate(source('raw', 'marketing_spend'), partition_by='spend_date, channel, state_code, campaign',
                   order_by=latest_loaded_first()) }}
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
