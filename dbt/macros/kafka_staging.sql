{#- The two steps every stg_kafka__<topic> model shares: parse the landed message, keep one copy per event. -#}

{% macro parse_kafka_json(relation) %}
    select
        decode(value)::json as payload,
        "partition" as kafka_partition,
        "offset" as kafka_offset,
        landed_at
    from {{ relation }}
{% endmacro %}

{% macro first_copy_per_event(relation) %}
    -- a message produced twice (a retry) lands twice: keep the first copy
    select * from {{ relation }}
    qualify row_number() over (partition by event_id order by kafka_partition, kafka_offset) = 1
{% endmacro %}
