{# Helpers shared by the facebook_pages models. #}

{% macro facebook_pages_schema() -%}
  {{ return(var('facebook_pages_schema') or env_var('DBT_POSTGRES_SOURCE_SCHEMA', 'facebook_pages')) }}
{%- endmacro %}

{% macro facebook_pages_insights_layout() -%}
  {%- set layout = var('facebook_pages_insights_layout') or env_var('DBT_POSTGRES_INSIGHTS_LAYOUT', 'one_table') -%}
  {%- if layout not in ('one_table', 'per_page') -%}
    {{ exceptions.raise_compiler_error("facebook_pages_insights_layout must be one_table or per_page, not '" ~ layout ~ "'") }}
  {%- endif -%}
  {{ return(layout) }}
{%- endmacro %}

{# The page_insights_<page_id> tables of the source schema (the per-page layout). #}
{% macro facebook_pages_per_page_insights_tables() -%}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set query -%}
    select table_name
    from information_schema.tables
    where table_schema = '{{ facebook_pages_schema() }}'
      and table_name ~ '^page_insights_[0-9]+$'
    order by table_name
  {%- endset -%}
  {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{# The columns every insights table shares, in one order (for the per-page union). #}
{% macro facebook_pages_insights_select(relation, id_columns) -%}
  select
    {% for column in id_columns %}{{ column }}, {% endfor %}
    metric, period, end_time, date, value, value_json, breakdown_key
  from {{ relation }}
{%- endmacro %}

{#
  Typed insights columns from a raw insights table (page, post or reel insights):
  date (the Pacific day), numeric value, jsonb value_json, and breakdown_key split into
  breakdown ('is_from_ads=1', or '' for plain rows) and value_key (the object metric's key, or '').
#}
{% macro facebook_pages_insights_columns() -%}
    metric::text as metric,
    period::text as period,
    coalesce(
      date::date,
      ((end_time at time zone 'UTC') at time zone 'America/Los_Angeles')::date - 1
    ) as date,
    end_time as end_time_utc,
    value::numeric as value,
    value_json::jsonb as value_json,
    breakdown_key::text as breakdown_key,
    case
      when position('=' in split_part(breakdown_key, ';', 1)) > 0
        then split_part(breakdown_key, ';', 1)
      else ''
    end as breakdown,
    case
      when position('=' in split_part(breakdown_key, ';', 1)) > 0
        then substr(breakdown_key, length(split_part(breakdown_key, ';', 1)) + 2)
      else breakdown_key
    end as value_key
{%- endmacro %}

{#
  A number for one metric of one (object, day) group: the plain row of a number metric.
  Plain rows only: breakdown rows (is_from_ads=0/1) split the same total and are excluded.
#}
{% macro facebook_pages_metric_value(metric) -%}
  max(value) filter (where metric = '{{ metric }}' and breakdown_key = '')
{%- endmacro %}

{#
  The sum of an object metric's keys (plain rows, not breakdowns); 0 when the object was
  empty (one row with a null value), null when the metric was not loaded.
#}
{% macro facebook_pages_object_sum(metric) -%}
  coalesce(
    sum(value) filter (where metric = '{{ metric }}' and breakdown = ''),
    case when count(*) filter (where metric = '{{ metric }}' and breakdown = '') > 0 then 0 end
  )
{%- endmacro %}

{#
  A daily series of lifetime totals: one row per object and observation day with the lifetime
  values observed, and for additive metrics the increment since the previous observation
  (null on the first). previous_observation_date / days_since_previous_observation state gaps:
  an increment over 3 days is reported on the day it was observed, never spread.
#}
{% macro facebook_pages_lifetime_series(insights, id_column, metrics, object_metrics, average_metrics=[]) -%}
with observed as (
    select
        {{ id_column }},
        page_id,
        date,
        {% for metric in metrics %}
        {{ facebook_pages_metric_value(metric) }} as {{ metric }},
        {% endfor %}
        {% for metric in object_metrics %}
        {{ facebook_pages_object_sum(metric) }} as {{ metric }},
        {% endfor %}
        {% for metric in average_metrics %}
        {{ facebook_pages_metric_value(metric) }} as {{ metric }},
        {% endfor %}
        count(*) as insight_rows
    from {{ insights }}
    where period = 'lifetime'
    group by {{ id_column }}, page_id, date
),

series as (
    select
        observed.*,
        lag(date) over (partition by {{ id_column }} order by date) as previous_observation_date,
        row_number() over (partition by {{ id_column }} order by date) as observation_number
        {% for metric in metrics + object_metrics %},
        {{ metric }} - lag({{ metric }}) over (partition by {{ id_column }} order by date)
            as {{ metric }}_increment
        {% endfor %}
    from observed
)

select
    {{ id_column }},
    page_id,
    date,
    observation_number,
    previous_observation_date,
    date - previous_observation_date as days_since_previous_observation,
    {% for metric in metrics + object_metrics %}
    {{ metric }},
    {{ metric }}_increment,
    {% endfor %}
    {% for metric in average_metrics %}
    {{ metric }},
    {% endfor %}
    insight_rows
from series
{%- endmacro %}

{#
  The source table, or where it was never loaded (posts and reels are opt-in streams: a run of
  the insights job alone creates no posts table) an empty relation with the columns the staging
  model reads, so the models downstream are empty instead of failing. page_insights must exist.
#}
{% macro facebook_pages_source(table, columns) -%}
  {%- set relation = source('facebook_pages', table) -%}
  {%- if execute and adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) is none -%}
    {%- if table == 'page_insights' -%}
      {{ exceptions.raise_compiler_error("no table " ~ relation ~ ": load page insights first; with one page_insights_<page_id> table per page (stream_maps {}) set insights_layout to per_page") }}
    {%- endif -%}
    {{ log("facebook_pages: " ~ relation ~ " was not loaded (stream not selected?); its models are empty", info=True) }}
    (select {% for name, type in columns.items() %}null::{{ type }} as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %} where false)
  {%- else -%}
    {{ relation }}
  {%- endif -%}
{%- endmacro %}

{# The columns of an insights table the staging models read (for an empty stand-in). #}
{% macro facebook_pages_insights_source_columns(id_column) -%}
  {{ return({id_column: 'text', 'page_id': 'text', 'metric': 'text', 'period': 'text', 'end_time': 'timestamp', 'date': 'date', 'value': 'numeric', 'value_json': 'text', 'breakdown_key': 'text'}) }}
{%- endmacro %}
