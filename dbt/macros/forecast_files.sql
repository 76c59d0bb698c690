{#- The planning flow (flows/planning.py) writes its forecasts as Parquet under <home>/forecasts/, next to the
     warehouse file. A model reads one with `read_forecast_parquet`; before the flow has ever run the file is
     absent and the model is empty (with `empty_columns` giving the column types), so `dbt build` never fails
     for want of a forecast. -#}

{% macro forecast_file_path(file_name) -%}
    {{- env_var('HCP_WAREHOUSE_DUCKDB_PATH').rsplit('/', 1)[0] ~ '/forecasts/' ~ file_name -}}
{%- endmacro %}

{% macro read_forecast_parquet(file_name, empty_columns) %}
    {%- set path = forecast_file_path(file_name) -%}
    {%- set found = namespace(value=false) -%}
    {%- if execute -%}
        {%- set result = run_query("select count(*) from glob('" ~ path ~ "')") -%}
        {%- set found.value = result.columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if found.value %}
    select * from read_parquet('{{ path }}')
    {%- else %}
    select {{ empty_columns }} where false
    {%- endif %}
{% endmacro %}
