{#- Every phone a CRM member has been exported with, and when: a member who changed her number
    keeps her earlier one as an identifier (OneID), so old receipts and calls still link to her.
    Read from every raw version of the member, not only the newest (stg_crm__members). A version
    is dated by its record time (updated_at), else its registration, else the export time. Placeholder and invalid
    phones were never hashed at ingest and are not here. -#}
select
    member_id,
    mobile_hash,
    min(coalesce(updated_at, registered_at, _exported_at)) as first_seen_at,
    max(coalesce(updated_at, registered_at, _exported_at)) as last_seen_at,
    count(*) as versions
from {{ source('raw', 'crm_members') }}
where mobile_hash is not null
group by member_id, mobile_hash
