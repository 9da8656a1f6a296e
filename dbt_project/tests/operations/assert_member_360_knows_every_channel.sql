{#- mart_member_360 has a first/last-order column pair per sales channel, from a list in its
    SQL: a channel of seeds/sales_channels the list lacks would vanish from the per-channel
    columns while still counting in lifetime_orders. Rows: such channels. -#}
select channel
from {{ ref('sales_channels') }}
where channel not in ('tmall', 'jd', 'douyin', 'mini_program', 'pos')
