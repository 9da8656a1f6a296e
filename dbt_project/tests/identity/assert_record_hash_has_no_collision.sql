{#- Two records of one build never share a record_hash (macro record_hash): as many distinct
    hashes as records. bridge_record_member has one row per record. -#}
with hashes as (
    select count(distinct record_hash) as n from {{ ref('int_identity__observation_nodes') }}
),

records as (
    select count(*) as n from {{ ref('bridge_record_member') }}
)

select hashes.n as distinct_hashes, records.n as records
from hashes
cross join records
where hashes.n <> records.n
