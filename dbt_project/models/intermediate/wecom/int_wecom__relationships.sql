{#- One row per customer x guide WeCom relationship (好友关系) with its state at the end of the
    data. Events are the truth: follow_user can still list a relationship the customer already
    deleted. A relationship is live unless its last add/delete event is a deletion; a listed
    relationship without events counts as live since its createtime.
    end_reason: customer_deleted (del_follow_user, the churn signal), guide_deleted, transferred
    (del_external_contact with Source=DELETE_BY_TRANSFER). -#}
with events as (
    select *
    from {{ ref('stg_wecom__contact_events') }}
    where event_type in ('added', 'half_added', 'deleted_by_guide', 'deleted_by_customer')
      and guide_userid is not null
),

listed as (
    select external_userid, guide_userid, added_at, add_way, state_code
    from {{ ref('stg_wecom__contacts') }}
),

pairs as (
    select external_userid, guide_userid from events
    union
    select external_userid, guide_userid from listed
),

last_event as (
    select *
    from (
        select
            events.*,
            row_number() over (
                partition by external_userid, guide_userid
                order by event_at desc, case when event_type like 'deleted%' then 0 else 1 end
            ) as recency
        from events
    ) as ranked
    where recency = 1
),

first_add as (
    select external_userid, guide_userid, min(event_at) as first_added_at,
           min(case when event_type = 'added' then state_code end) as event_state_code
    from events
    where event_type in ('added', 'half_added')
    group by external_userid, guide_userid
)

select
    pairs.external_userid,
    pairs.guide_userid,
    {{ record_key(['external_userid', 'guide_userid'], 'pairs.') }} as relationship_id,
    case
        when listed.added_at is null then first_add.first_added_at
        when first_add.first_added_at is null then listed.added_at
        when listed.added_at < first_add.first_added_at then listed.added_at
        else first_add.first_added_at
    end as added_at,
    coalesce(listed.state_code, first_add.event_state_code) as state_code,
    listed.add_way,
    coalesce(last_event.event_type not like 'deleted%', true) as is_live,
    case when last_event.event_type like 'deleted%' then last_event.event_at end as ended_at,
    case
        when last_event.event_type = 'deleted_by_customer' then 'customer_deleted'
        when last_event.event_type = 'deleted_by_guide' and last_event.is_transfer then 'transferred'
        when last_event.event_type = 'deleted_by_guide' then 'guide_deleted'
    end as end_reason,
    listed.external_userid is not null as is_listed
from pairs
left join listed
    on listed.external_userid = pairs.external_userid and listed.guide_userid = pairs.guide_userid
left join last_event
    on last_event.external_userid = pairs.external_userid and last_event.guide_userid = pairs.guide_userid
left join first_add
    on first_add.external_userid = pairs.external_userid and first_add.guide_userid = pairs.guide_userid
