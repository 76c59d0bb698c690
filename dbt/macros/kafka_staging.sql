{#- What every stg_kafka__<topic> model starts with: the landed messages, one copy per event, parsed.
     `relation` is read twice: the model declares it `not materialized`, or DuckDB would copy the whole raw table
     (every message's bytes) into memory first. -#}

{% macro parse_first_copies(relation, structure=none) %}
    -- A message produced twice (a retry) lands twice: keep the first copy of each event (lowest partition, then
    -- offset). The copies are told apart on narrow rows (event id, partition, offset) and the messages kept are
    -- then parsed: a window over the whole messages held a month of a large fleet's telemetry (tens of GB of
    -- JSON) in memory at once (docs/benchmarks.md, "A month of billing at scale").
    -- `structure` (a from_json structure) parses each message straight into a STRUCT: for the telemetry polls,
    -- whose hundreds of readings a message made a JSON cast hold gigabytes per vector of messages.
    select
        {% if structure is none -%}
        decode(landed.value)::json as payload,
        {%- else -%}
        from_json(decode(landed.value), '{{ structure }}') as payload,
        {%- endif %}
        landed."partition" as kafka_partition,
        landed."offset" as kafka_offset,
        landed.landed_at
    from {{ relation }} as landed
    semi join (
        select "partition", "offset"
        from (
            select "partition", "offset", json_extract_string(decode(value), '$.event_id') as event_id
            from {{ relation }}
        )
        qualify row_number() over (partition by event_id order by "partition", "offset") = 1
    ) as first_copies
        on landed."partition" = first_copies."partition" and landed."offset" = first_copies."offset"
{% endmacro %}
