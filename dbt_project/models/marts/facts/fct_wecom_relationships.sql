{#- One row per WeCom relationship spell (customer x guide, from an add to the deletion that ends
    it): adds, deletions by either side and transfers, with the member, the guide's store and the
    acquisition source. A spell is an acquisition (is_acquisition) when its start is known and it
    is not the receiving side of a transfer. The acquisition source channel of a state code is
    the media channel that carries the most marketing spend on it; a state code without spend is
    'no_spend'; a spell without state code is 'no_state_code'. -#}
with spells as (
    select * from {{ ref('int_wecom__relationship_spells') }}
),

state_channels as (
    select state_code, spend_channel
    from (
        select
            state_code,
            spend_channel,
            row_number() over (partition by state_code order by sum(spend_amount) desc, spend_channel) as channel_rank
        from {{ ref('stg_marketing__spend') }}
        where state_code is not null
        group by state_code, spend_channel
    ) as ranked
    where channel_rank = 1
)

select
    spells.spell_id,
    spells.relationship_id,
    spells.spell_no,
    spells.external_userid,
    members.one_id,
    spells.guide_userid,
    staff.employee_no as guide_employee_no,
    staff.store_code,
    spells.started_at,
    {{ month_of('spells.started_at') }} as start_month,
    spells.start_source,
    spells.ended_at,
    {{ month_of('spells.ended_at') }} as end_month,
    spells.end_reason,
    spells.ended_at is null as is_live,
    spells.end_reason = 'customer_deleted' as is_churn,
    spells.is_transfer_in,
    spells.started_at is not null and not spells.is_transfer_in as is_acquisition,
    spells.state_code,
    case
        when spells.state_code is null then 'no_state_code'
        else coalesce(state_channels.spend_channel, 'no_spend')
    end as acquisition_channel,
    spells.add_way,
    add_ways.add_way_name,
    spells.is_listed
from spells
left join {{ ref('int_wecom__customer_members') }} as members
    on members.external_userid = spells.external_userid
left join {{ ref('stg_master__staff') }} as staff
    on staff.wecom_userid = spells.guide_userid
left join state_channels
    on state_channels.state_code = spells.state_code
left join {{ ref('wecom_add_way') }} as add_ways
    on add_ways.add_way = spells.add_way
