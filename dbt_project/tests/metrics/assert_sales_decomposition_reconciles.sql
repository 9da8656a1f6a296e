{#- Every row of mart_sales_decomposition_monthly: reachable_members x friend_rate x
    conversion_rate x aov is sales (to 0.005 CNY) where the factors are defined, and sales is 0
    where one is not (no member, no friend or no buyer); month over month, the product of the
    four factor growths is sales_growth where all are defined. -#}
with decomposition as (
    select * from {{ ref('mart_sales_decomposition_monthly') }}
)

select month, scope, store_code, guide_employee_no, 'factors do not multiply to sales' as failure
from decomposition
where case
        when friend_rate is null or conversion_rate is null or aov is null then sales <> 0
        else abs(reachable_members * friend_rate * conversion_rate * aov - sales) > 0.005
    end
union all
select month, scope, store_code, guide_employee_no, 'growths do not multiply to sales growth' as failure
from decomposition
where sales_growth is not null
  and reachable_members_growth is not null
  and friend_rate_growth is not null
  and conversion_rate_growth is not null
  and aov_growth is not null
  and abs(reachable_members_growth * friend_rate_growth * conversion_rate_growth * aov_growth - sales_growth)
      > 1e-9 * sales_growth
