{#
  One row per page and Pacific day: the page's name and one column per day metric. Plain rows
  only: the is_from_ads=0/1 rows split the same total and are never added to it; they give the
  <metric>_paid / <metric>_organic columns instead (null where breakdowns were not loaded).
#}
with insights as (
    select * from {{ ref('stg_facebook_pages__page_insights') }}
    where period = 'day'
),

daily as (
    select
        page_id,
        date,
        {% for metric in var('facebook_pages_page_day_metrics') %}
        {{ facebook_pages_metric_value(metric) }} as {{ metric }},
        {% endfor %}
        {% for metric in var('facebook_pages_page_day_object_metrics') %}
        {{ facebook_pages_object_sum(metric) }} as {{ metric }},
        {% endfor %}
        {% for metric in var('facebook_pages_page_breakdown_metrics') %}
        max(value) filter (where metric = '{{ metric }}' and breakdown_key = 'is_from_ads=1')
            as {{ metric }}_paid,
        max(value) filter (where metric = '{{ metric }}' and breakdown_key = 'is_from_ads=0')
            as {{ metric }}_organic,
        {% endfor %}
        count(*) as insight_rows
    from insights
    group by page_id, date
)

select
    daily.page_id,
    pages.page_name,
    daily.date,
    {% for metric in var('facebook_pages_page_day_metrics') + var('facebook_pages_page_day_object_metrics') %}
    daily.{{ metric }},
    {% endfor %}
    {% for metric in var('facebook_pages_page_breakdown_metrics') %}
    daily.{{ metric }}_paid,
    daily.{{ metric }}_organic,
    {% endfor %}
    daily.insight_rows
from daily
left join {{ ref('stg_facebook_pages__pages') }} as pages
    on pages.page_id = daily.page_id
