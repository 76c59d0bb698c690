with

source as (

    select * from {{ source('fleet', 'sites') }}

),

final as (

    select
        site_id,
        node,
        power_cap_mw
    from source

)

select * from final
