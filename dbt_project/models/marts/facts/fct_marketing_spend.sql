{#- One row per day x media channel x WeCom state code x campaign of marketing spend (CNY), the
    cost side of acquisition QQC. -#}
select
    spend_date,
    {{ month_of('spend_date') }} as spend_month,
    spend_channel,
    state_code,
    campaign,
    spend_amount,
    impressions,
    clicks
from {{ ref('stg_marketing__spend') }}
