with latest as (
    {{ latest_per_key(source('raw', 'tmall_orders'), ['order_id']) }}
)

select
    order_id,
    'tmall' as channel,
    buyer_nick_hash,
    buyer_open_uid,
    status as source_status,
    created_at as ordered_at,
    paid_at,
    total_amount,
    paid_amount,
    coalesce(refund_amount, 0) as refund_amount,
    receiver_mobile_status,
    _source_file,
    _source_row,
    _load_id
from latest
