with

source as not materialized (

    select * from {{ source('kafka', 'workloads_requests') }}

),

parsed as (

    {{ parse_first_copies('source') }}

),

renamed as (

    select
        payload->>'event_id' as event_id,
        (payload->>'event_time')::timestamptz as event_time,
        (payload->>'schema_version')::integer as schema_version,
        payload->>'job_id' as job_id,
        payload->>'customer_id' as customer_id,
        payload->>'gpu_type' as gpu_type,
        (payload->>'gpu_count')::integer as gpu_count,
        (payload->>'priority')::integer as priority,
        payload->>'qos_class' as qos_class,
        (payload->>'preemptible')::boolean as preemptible,
        (payload->>'expected_duration_s')::double as expected_duration_s,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
