{#- AI outbound calls (智能外呼), monthly: answer rate and friend acceptance of calls (friends added
    / calls answered). Exact definitions in _metrics__models.yml. -#}
with calls as (
    select
        call_month as month,
        count(*) as calls,
        sum(case when is_answered then 1 else 0 end) as answered_calls,
        sum(case when is_answered and intent_level in ('A', 'B') then 1 else 0 end) as high_intent_calls,
        sum(case when is_friend_request_sent then 1 else 0 end) as friend_requests_sent,
        sum(case when is_friend_added then 1 else 0 end) as friends_added,
        count(distinct one_id) as members_called
    from {{ ref('fct_outbound_calls') }}
    group by call_month
)

select
    months.month,
    coalesce(calls.calls, 0) as calls,
    coalesce(calls.answered_calls, 0) as answered_calls,
    {{ ratio('calls.answered_calls', 'calls.calls') }} as answer_rate,
    coalesce(calls.high_intent_calls, 0) as high_intent_calls,
    coalesce(calls.friend_requests_sent, 0) as friend_requests_sent,
    coalesce(calls.friends_added, 0) as friends_added,
    {{ ratio('calls.friends_added', 'calls.answered_calls') }} as friend_acceptance_rate,
    {{ ratio('calls.friends_added', 'calls.friend_requests_sent') }} as friend_request_acceptance_rate,
    coalesce(calls.members_called, 0) as members_called,
    {{ identity_graph_column() }}
from {{ ref('int_calendar__months') }} as months
left join calls
    on calls.month = months.month
