{#- Models land in the schema their folder names (staging, intermediate), not `main_<folder>`;
     a folder without one (marts) lands in the target schema, main. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
