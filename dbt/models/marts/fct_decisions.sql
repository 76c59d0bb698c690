with

decisions as (

    select * from {{ ref('stg_kafka__decisions') }}

),

commands as (

    select * from {{ ref('stg_kafka__control_commands') }}

),

-- a decision re-published under a new event_id is still one decision: keep the first
unique_decisions as (

    select * from decisions
    qualify row_number() over (partition by decision_id order by event_time, event_id) = 1

),

unique_commands as (

    select * from commands
    qualify row_number() over (partition by command_id order by event_time, event_id) = 1

),

final as (

    select
        unique_decisions.decision_id,
        unique_decisions.site_id,
        unique_decisions.kind as decision_kind,
        unique_decisions.subject,
        unique_decisions.interval_start,
        unique_decisions.event_time as decided_at,
        unique_decisions.previous_action,
        unique_decisions.action,
        unique_decisions.action is distinct from unique_decisions.previous_action as changed_action,
        unique_decisions.reason,
        unique_decisions.energy_price_usd_mwh,
        unique_decisions.hashprice_usd_ph_day,
        unique_decisions.breakeven_usd_mwh,
        -- positive: mining this subject earned more than the power cost at the decision's price
        unique_decisions.breakeven_usd_mwh - unique_decisions.energy_price_usd_mwh as breakeven_headroom_usd_mwh,
        unique_decisions.run_fraction,
        unique_decisions.power_mw,
        unique_decisions.site_power_cap_mw,
        unique_decisions.queue_wait_s,
        unique_decisions.command_id,
        unique_commands.event_time as command_sent_at,
        unique_commands.power_state as command_power_state,
        unique_commands.asic_model as command_asic_model,
        len(unique_commands.device_ids) as command_device_count
    from unique_decisions
    left join unique_commands
        on unique_decisions.command_id = unique_commands.command_id

)

select * from final
