{#
  One row per (page, metric, period, day, breakdown_key), typed. The one-table layout reads
  page_insights; the per-page layout (facebook_pages_insights_layout: per_page) unions every
  page_insights_<page_id> table of the source schema.
#}
{% if facebook_pages_insights_layout() == 'per_page' %}
  {% set tables = facebook_pages_per_page_insights_tables() %}
{% endif %}

with raw as (
{% if facebook_pages_insights_layout() == 'per_page' %}
  {% if execute and tables | length == 0 %}
    {{ exceptions.raise_compiler_error("facebook_pages_insights_layout is per_page but schema " ~ facebook_pages_schema() ~ " has no page_insights_<page_id> table") }}
  {% endif %}
  {% for table in tables %}
    {{ facebook_pages_insights_select(adapter.quote(facebook_pages_schema()) ~ '.' ~ adapter.quote(table), ['page_id']) }}
    {% if not loop.last %}union all{% endif %}
  {% endfor %}
  {% if not execute %}
    {{ facebook_pages_insights_select(source('facebook_pages', 'page_insights'), ['page_id']) }}
  {% endif %}
{% else %}
    {{ facebook_pages_insights_select(facebook_pages_source('page_insights', {}), ['page_id']) }}
{% endif %}
)

select
    page_id::text as page_id,
    {{ facebook_pages_insights_columns() }}
from raw
