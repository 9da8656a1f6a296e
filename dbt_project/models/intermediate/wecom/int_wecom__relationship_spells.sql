{#- One row per spell of a customer x guide WeCom relationship: from an add to the deletion that
    ends it. int_wecom__relationships keeps one row per pair (its state at the end of the data);
    monthly fan counts need every interval, including a customer who deleted the guide and
    came back. Rules:
    * add/delete events (stg_wecom__contact_events) are the truth, ordered by time (at the same
      second an add comes before a deletion). A spell starts at an add that follows a deletion
      or at the pair's first event; further adds (half_added then added) stay in the spell; the
      first deletion ends it (a second deletion without an add in between changes nothing);
    * a pair whose first event is a deletion was added before the data: the spell starts at
      the contact list's createtime when it is earlier, else its start is unknown (null,
      start_source 'before_data') and it counts as live at every instant before its end;
    * the contact list (stg_wecom__contacts, a snapshot) extends the first spell back to its
      createtime when that is earlier than the first event; it opens a spell of its own only when
      the pair has no events, or its createtime is later than the pair's last deletion (a re-add
      whose callback is missing). A listed pair whose last event is a deletion and whose
      createtime is older is a stale listing and is ignored;
    * end_reason of the deletion that ends the spell: customer_deleted (del_follow_user, the
      churn signal), transferred (del_external_contact with Source=DELETE_BY_TRANSFER) or
      guide_deleted (any other del_external_contact);
    * is_transfer_in: the spell is the receiving side of a transfer (add_way 201/202 in the
      contact list, or a DELETE_BY_TRANSFER of the same customer within 24 hours of its start),
      not an acquisition. -#}
with events as (
    select
        external_userid,
        guide_userid,
        event_at,
        event_type,
        is_transfer,
        state_code,
        case when event_type in ('added', 'half_added') then 1 else 0 end as is_add
    from {{ ref('stg_wecom__contact_events') }}
    where event_type in ('added', 'half_added', 'deleted_by_guide', 'deleted_by_customer')
      and guide_userid is not null
      and external_userid is not null
),

ordered as (
    select
        events.*,
        row_number() over (
            partition by external_userid, guide_userid order by event_at asc, is_add desc, event_type asc
        ) as event_seq,
        lag(is_add) over (
            partition by external_userid, guide_userid order by event_at asc, is_add desc, event_type asc
        ) as previous_is_add
    from events
),

numbered as (
    select
        ordered.*,
        sum(case when previous_is_add is null or (is_add = 1 and previous_is_add = 0) then 1 else 0 end) over (
            partition by external_userid, guide_userid order by event_seq
            rows between unbounded preceding and current row
        ) as spell_no
    from ordered
),

ranked as (
    select
        numbered.*,
        row_number() over (
            partition by external_userid, guide_userid, spell_no, is_add order by event_seq
        ) as rank_in_kind,
        row_number() over (
            partition by external_userid, guide_userid, spell_no,
                         case when is_add = 1 and state_code is not null then 1 else 0 end
            order by event_seq
        ) as state_rank
    from numbered
),

event_spells as (
    select
        external_userid,
        guide_userid,
        spell_no,
        min(case when is_add = 1 then event_at end) as first_add_at,
        min(case when is_add = 0 and rank_in_kind = 1 then event_at end) as ended_at,
        max(case when is_add = 0 and rank_in_kind = 1 then event_type end) as end_event_type,
        max(case when is_add = 0 and rank_in_kind = 1 and is_transfer then 1 else 0 end) = 1 as ended_by_transfer,
        max(case when is_add = 1 and state_code is not null and state_rank = 1 then state_code end) as event_state_code
    from ranked
    group by external_userid, guide_userid, spell_no
),

pairs as (
    select
        external_userid,
        guide_userid,
        max(spell_no) as last_spell_no,
        max(ended_at) as last_ended_at,
        max(case when ended_at is null then 1 else 0 end) = 1 as has_open_spell
    from event_spells
    group by external_userid, guide_userid
),

listed as (
    select external_userid, guide_userid, added_at, add_way, state_code
    from {{ ref('stg_wecom__contacts') }}
    where guide_userid is not null and external_userid is not null
),

from_events as (
    select
        event_spells.external_userid,
        event_spells.guide_userid,
        event_spells.spell_no,
        case
            when event_spells.spell_no = 1 and listed.added_at is not null
                 and listed.added_at < coalesce(event_spells.first_add_at, event_spells.ended_at)
                then listed.added_at
            else event_spells.first_add_at
        end as started_at,
        case
            when event_spells.spell_no = 1 and listed.added_at is not null
                 and listed.added_at < coalesce(event_spells.first_add_at, event_spells.ended_at)
                then 'listing'
            when event_spells.first_add_at is null then 'before_data'
            else 'event'
        end as start_source,
        event_spells.ended_at,
        event_spells.end_event_type,
        event_spells.ended_by_transfer,
        event_spells.event_state_code,
        -- the contact list describes the pair's current spell: the last one, unless the list opens its own
        case
            when listed.external_userid is not null and event_spells.spell_no = pairs.last_spell_no
                 and not (not pairs.has_open_spell and coalesce(listed.added_at > pairs.last_ended_at, false))
                then 1 else 0
        end as carries_listing
    from event_spells
    join pairs
        on pairs.external_userid = event_spells.external_userid
       and pairs.guide_userid = event_spells.guide_userid
    left join listed
        on listed.external_userid = event_spells.external_userid
       and listed.guide_userid = event_spells.guide_userid
),

from_listing as (
    select
        listed.external_userid,
        listed.guide_userid,
        coalesce(pairs.last_spell_no, 0) + 1 as spell_no,
        listed.added_at as started_at,
        case when listed.added_at is null then 'before_data' else 'listing' end as start_source,
        {{ dbt.cast('null', dbt.type_timestamp()) }} as ended_at,
        {{ dbt.cast('null', dbt.type_string()) }} as end_event_type,
        false as ended_by_transfer,
        {{ dbt.cast('null', dbt.type_string()) }} as event_state_code,
        1 as carries_listing
    from listed
    left join pairs
        on pairs.external_userid = listed.external_userid
       and pairs.guide_userid = listed.guide_userid
    where pairs.external_userid is null
       or (not pairs.has_open_spell and listed.added_at > pairs.last_ended_at)
),

spells as (
    select * from from_events
    union all
    select * from from_listing
),

with_listing as (
    select
        spells.*,
        case when spells.carries_listing = 1 then listed.add_way end as add_way,
        coalesce(spells.event_state_code, case when spells.carries_listing = 1 then listed.state_code end) as state_code
    from spells
    left join listed
        on listed.external_userid = spells.external_userid
       and listed.guide_userid = spells.guide_userid
),

transfer_deletions as (
    select distinct external_userid, guide_userid, event_at
    from events
    where is_add = 0 and is_transfer
),

transfer_ins as (
    select distinct with_listing.external_userid, with_listing.guide_userid, with_listing.spell_no
    from with_listing
    join transfer_deletions
        on transfer_deletions.external_userid = with_listing.external_userid
       and transfer_deletions.guide_userid <> with_listing.guide_userid
       and transfer_deletions.event_at >= {{ dbt.dateadd('hour', -24, 'with_listing.started_at') }}
       and transfer_deletions.event_at <= {{ dbt.dateadd('hour', 24, 'with_listing.started_at') }}
)

select
    {{ record_key(['external_userid', 'guide_userid', 'spell_no'], 'with_listing.') }} as spell_id,
    {{ record_key(['external_userid', 'guide_userid'], 'with_listing.') }} as relationship_id,
    with_listing.external_userid,
    with_listing.guide_userid,
    with_listing.spell_no,
    with_listing.started_at,
    with_listing.start_source,
    with_listing.ended_at,
    case
        when with_listing.end_event_type = 'deleted_by_customer' then 'customer_deleted'
        when with_listing.end_event_type = 'deleted_by_guide' and with_listing.ended_by_transfer then 'transferred'
        when with_listing.end_event_type = 'deleted_by_guide' then 'guide_deleted'
    end as end_reason,
    with_listing.state_code,
    with_listing.add_way,
    coalesce(with_listing.add_way in (201, 202), false) or transfer_ins.external_userid is not null as is_transfer_in,
    with_listing.carries_listing = 1 as is_listed
from with_listing
left join transfer_ins
    on transfer_ins.external_userid = with_listing.external_userid
   and transfer_ins.guide_userid = with_listing.guide_userid
   and transfer_ins.spell_no = with_listing.spell_no
