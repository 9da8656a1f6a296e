{#- Order lines sum to their orders per channel and month, up to the postage and freight that
    no line carries (quality_order_line_reconciliation). Warn only: a difference means a line
    fact to fix, not a warehouse to withhold from every reader. -#}
{{ config(severity='warn') }}
select channel, order_month, unexplained_paid_difference, unexplained_refund_difference
from {{ ref('quality_order_line_reconciliation') }}
where abs(unexplained_paid_difference) >= 0.005
   or abs(unexplained_refund_difference) >= 0.005
