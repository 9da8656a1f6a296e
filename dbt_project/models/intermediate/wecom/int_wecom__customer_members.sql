{#- The member (one_id) of every WeCom customer (external_userid), from the identity registry.
    external_userid is an identifier of the member graph, so every customer the graph accepted
    has exactly one row; a refused value (hub, blocked) has none. -#}
select
    identifier_value as external_userid,
    one_id
from {{ ref('identity_registry') }}
where identifier_type = 'wecom_external_userid'
