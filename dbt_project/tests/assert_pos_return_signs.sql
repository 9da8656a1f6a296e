{#- POS lines carry consistent signs after staging: a return has qty <= 0, net_amount <= 0 and
    its refund in refund_amount; a sale has qty >= 0 and net_amount = paid_amount >= 0. -#}
select *
from {{ ref('stg_pos__sales') }}
where (is_return and (qty > 0 or net_amount > 0 or paid_amount <> 0 or refund_amount <> -net_amount))
   or (not is_return and (qty < 0 or net_amount < 0 or paid_amount <> net_amount or refund_amount <> 0))
