{#- One row per CRM member and phone any exported version of her carried: a member who changed
    her number keeps the earlier one as an identifier (OneID), so her old receipts and calls
    still link to her. stg_crm__members keeps only the newest version of a member and with it
    only her current phone; this model reads every version in raw (the raw table's second
    staging reader; _sources.yml names both).
    A version is dated as the deduplication dates it (macro version_time: the contract's
    versioned_by, updated_at, else the export time): first_seen_at / last_seen_at are the
    earliest and latest version carrying the phone. held_since, OneID's observation time, moves
    the phone of her earliest version back to her registration: stg_crm__members dates her
    phone so, and an export that only says when it was made (no updated_at) would otherwise date
    two holders of a re-issued number the same day, and they could not be told apart
    (int_identity__limit_conflicts).
    Placeholder and invalid phones were never hashed at ingest and are not here; a phone that is
    hashed meets every node rule of OneID (blocklist, staff and store phones, spread, limits,
    recycling), as on any record.
    phone_seq numbers a member's phones by when they were first seen (1: the first), ties by the
    file and row that first showed them: a key without a hash, so a re-key of the lake keeps the
    records' names. The lineage columns are those of that first row. -#}
with versions as (
    select
        member_id,
        mobile_hash,
        registered_at,
        {{ version_time('crm_members') }} as version_at,
        _exported_at,
        _hash_key_version,
        _source_file,
        _source_row,
        _load_id
    from {{ source('raw', 'crm_members') }}
),

members as (
    -- her earliest version (with a valid phone or not) and her registration
    select
        member_id,
        min(version_at) as first_version_at,
        min(registered_at) as registered_at
    from versions
    group by member_id
),

phone_versions as (
    select
        versions.*,
        min(versions.version_at) over (partition by versions.member_id, versions.mobile_hash) as first_seen_at,
        max(versions.version_at) over (partition by versions.member_id, versions.mobile_hash) as last_seen_at,
        count(*) over (partition by versions.member_id, versions.mobile_hash) as raw_rows,
        row_number() over (
            partition by versions.member_id, versions.mobile_hash
            order by versions.version_at asc nulls last, versions._exported_at asc nulls last,
                versions._source_file asc, versions._source_row asc, versions._load_id asc
        ) as rank_in_phone
    from versions
    where versions.mobile_hash is not null
),

phones as (
    select * from phone_versions where rank_in_phone = 1
)

select
    phones.member_id,
    row_number() over (
        partition by phones.member_id
        order by phones.first_seen_at asc nulls last, phones._exported_at asc nulls last,
            phones._source_file asc, phones._source_row asc, phones._load_id asc
    ) as phone_seq,
    'crm' as channel,
    phones.mobile_hash,
    case
        when phones.first_seen_at = members.first_version_at
            then least(members.registered_at, phones.first_seen_at)
        else phones.first_seen_at
    end as held_since,
    phones.first_seen_at,
    phones.last_seen_at,
    phones.raw_rows,
    {{ lineage_columns('phones') }}
from phones
join members on members.member_id = phones.member_id
