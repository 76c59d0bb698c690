with

decisions as (

    select * from {{ ref('fct_decisions') }}

),

requests as (

    select * from {{ ref('stg_kafka__workloads_requests') }}

),

-- a job resubmitted under a new event id is still one job: its first submission names its owner
jobs as (

    select * from requests
    qualify row_number() over (partition by job_id order by event_time, event_id) = 1

),

final as (

    select
        decisions.decision_id,
        decisions.decision_kind as credit_kind,
        decisions.subject as job_id,
        jobs.customer_id,
        jobs.gpu_type,
        jobs.priority,
        decisions.site_id,
        decisions.decided_at,
        decisions.reason
    from decisions
    left join jobs
        on decisions.subject = jobs.job_id
    where decisions.decision_kind in ('preemption', 'sla_breach')

)

select * from final
