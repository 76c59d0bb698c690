with

asic_readings as (

    select * from {{ ref('int_asic_readings') }}

),

gpu_readings as (

    select * from {{ ref('int_gpu_readings') }}

),

-- one shape for both kinds: columns a kind does not report are null
readings as (

    select
        device_id,
        'asic' as device_kind,
        site_id,
        model,
        event_time,
        interval_s,
        power_w,
        energy_mwh,
        hashrate_th,
        temp_chip_c as temp_c,
        null::double as utilisation_pct,
        errors,
        power_state <> 'sleep' as is_working
    from asic_readings

    union all

    select
        device_id,
        'gpu' as device_kind,
        site_id,
        gpu_type as model,
        event_time,
        interval_s,
        power_w,
        energy_mwh,
        null::double as hashrate_th,
        temp_c,
        utilisation_pct,
        ecc_errors as errors,
        job_id is not null as is_working
    from gpu_readings

),

hourly as (

    select
        device_id,
        date_trunc('hour', event_time) as hour_start,
        any_value(device_kind) as device_kind,
        arg_max(site_id, event_time) as site_id,
        arg_max(model, event_time) as model,
        count(*) as readings,
        sum(interval_s) as observed_s,
        sum(power_w * interval_s) / sum(interval_s) as avg_power_w,
        max(power_w) as max_power_w,
        sum(energy_mwh) as energy_mwh,
        sum(hashrate_th * interval_s) / sum(interval_s) as avg_hashrate_th,
        avg(temp_c) as avg_temp_c,
        max(temp_c) as max_temp_c,
        sum(utilisation_pct * interval_s) / sum(interval_s) as avg_utilisation_pct,
        coalesce(sum(interval_s) filter (where is_working), 0.0) as working_s,
        sum(errors) as errors
    from readings
    group by device_id, date_trunc('hour', event_time)

),

final as (

    select
        device_id || '/' || strftime(hour_start, '%Y-%m-%dT%H:00Z') as device_hour_id,
        device_id,
        hour_start,
        device_kind,
        site_id,
        model,
        readings,
        observed_s,
        avg_power_w,
        max_power_w,
        energy_mwh,
        avg_hashrate_th,
        avg_temp_c,
        max_temp_c,
        avg_utilisation_pct,
        working_s,
        working_s / observed_s as working_fraction,
        errors
    from hourly

)

select * from final
