{{ config(meta={'dagster': {'ref': {'name': 'mart_channel_overlap_monthly'}}}) }}
{#- Two marts count the same trailing-twelve-month buyers (identified members with a valid
    order): the three overlap classes of mart_channel_overlap_monthly add up to the brand's
    ttm_buyers in mart_repurchase_monthly. -#}
with overlap as (
    select month, sum(buyers) as buyers
    from {{ ref('mart_channel_overlap_monthly') }}
    group by month
)

select overlap.month, overlap.buyers, repurchase.ttm_buyers
from overlap
join {{ ref('mart_repurchase_monthly') }} as repurchase
    on repurchase.month = overlap.month
   and repurchase.scope = 'brand'
where overlap.buyers <> repurchase.ttm_buyers
