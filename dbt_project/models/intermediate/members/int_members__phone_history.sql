{#- Every phone a CRM member has been exported with, and when: a member who changed her number
    keeps her earlier one as an identifier (OneID), so old receipts and calls still link to her.
    Read from every raw version of the member, not only the newest (stg_crm__members is the one
    staging model of the raw table; this is the one other reader, for history). A version is
    dated by its record time (updated_at), else its registration, else the export time.
    Placeholder and invalid phones were never hashed at ingest and are not here.
    phone_seq numbers a member's phones by when they were first seen (1: the first), a key that
    holds no hash, so a re-key of the lake keeps the records' names. -#}
with phones as (
    select
        member_id,
        mobile_hash,
        min(coalesce(updated_at, registered_at, _exported_at)) as first_seen_at,
        max(coalesce(updated_at, registered_at, _exported_at)) as last_seen_at,
        count(*) as versions
    from {{ source('raw', 'crm_members') }}
    where mobile_hash is not null
    group by member_id, mobile_hash
)

select
    member_id,
    row_number() over (
        partition by member_id order by first_seen_at asc, last_seen_at asc, mobile_hash asc
    ) as phone_seq,
    mobile_hash,
    first_seen_at,
    last_seen_at,
    versions
from phones
