{#- Identifier values that must never join two records:
    * the seeded blocklist (placeholders a back office writes when a field is mandatory);
    * the brand's own staff phones (a guide typing their own number for a customer);
    * store phones (a cashier typing the shop's number).
    Placeholder mobiles (13800000000 ...) never get this far: ingest does not hash them.
    var('identity_block_master_phones', true) = false leaves staff and store phones to the hub
    rule alone (to measure it, or for a brand without phones in its master data). -#}
select identifier_type, identifier_value, reason
from {{ ref('identity_blocklist') }}
{%- if var('identity_block_master_phones', true) %}

union all

select distinct 'mobile' as identifier_type, mobile_hash as identifier_value, 'staff phone' as reason
from {{ ref('stg_master__staff') }}
where mobile_hash is not null

union all

select distinct 'mobile' as identifier_type, store_phone_hash as identifier_value, 'store phone' as reason
from {{ ref('stg_master__stores') }}
where store_phone_hash is not null
{%- endif %}
