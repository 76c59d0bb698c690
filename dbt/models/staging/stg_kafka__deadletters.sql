-- header names are those of hcp/records/deadletters.py
with

source as (

    select * from {{ source('kafka', 'deadletters') }}

),

renamed as (

    select
        "partition" || '-' || "offset" as dead_letter_id,
        key as original_key,
        try(decode(headers['hcp.original.topic'])) as original_topic,
        try_cast(try(decode(headers['hcp.original.partition'])) as integer) as original_partition,
        try_cast(try(decode(headers['hcp.original.offset'])) as bigint) as original_offset,
        try(decode(headers['hcp.error.class'])) as error_class,
        try(decode(headers['hcp.error.message'])) as error_message,
        value as payload,
        -- the rejected bytes as text, null when they are not UTF-8
        try(decode(value)) as payload_text,
        make_timestamptz(kafka_timestamp_ms * 1000) as received_at,
        "partition" as kafka_partition,
        "offset" as kafka_offset,
        landed_at
    from source

),

final as (

    select * from renamed

)

select * from final
