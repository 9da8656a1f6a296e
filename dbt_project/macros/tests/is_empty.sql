{#- Generic test: the model must be empty (every row it returns is a failure). -#}
{% test is_empty(model) %}
select * from {{ model }}
{% endtest %}
