{#
  The wide table holds exactly the long table's values: every (page, day, metric) of
  facebook_pages__page_daily, unpivoted, equals the plain row (or the sum of the object
  metric's keys, or the is_from_ads=1 / =0 row) of stg_facebook_pages__page_insights, and no
  day of the long table is missing from the wide one. Returns the mismatches.
#}
{% set plain = var('facebook_pages_page_day_metrics') %}
{% set objects = var('facebook_pages_page_day_object_metrics') %}
{% set split = var('facebook_pages_page_breakdown_metrics') %}

with wide as (
    {% for metric in plain + objects %}
    select page_id, date, '{{ metric }}' as metric, '' as breakdown, {{ metric }} as value
    from {{ ref('facebook_pages__page_daily') }}
    union all
    {% endfor %}
    {% for metric in split %}
    select page_id, date, '{{ metric }}', 'is_from_ads=1', {{ metric }}_paid
    from {{ ref('facebook_pages__page_daily') }}
    union all
    select page_id, date, '{{ metric }}', 'is_from_ads=0', {{ metric }}_organic
    from {{ ref('facebook_pages__page_daily') }}
    union all
    {% endfor %}
    select null, null, null, null, null where false
),

long as (
    select page_id, date, metric, breakdown, sum(value) as value, count(*) as n
    from {{ ref('stg_facebook_pages__page_insights') }}
    where period = 'day'
      and (
        (metric in ('{{ (plain + split) | join("', '") }}') and breakdown_key = '')
        or (metric in ('{{ objects | join("', '") }}') and breakdown = '')
        or (metric in ('{{ split | join("', '") }}') and breakdown_key in ('is_from_ads=0', 'is_from_ads=1'))
      )
    group by page_id, date, metric, breakdown
),

days as (
    select distinct page_id, date
    from {{ ref('stg_facebook_pages__page_insights') }}
    where period = 'day'
)

select
    coalesce(wide.page_id, long.page_id) as page_id,
    coalesce(wide.date, long.date) as date,
    coalesce(wide.metric, long.metric) as metric,
    coalesce(wide.breakdown, long.breakdown) as breakdown,
    wide.value as wide_value,
    long.value as long_value
from wide
full outer join long
    on long.page_id = wide.page_id
   and long.date = wide.date
   and long.metric = wide.metric
   and long.breakdown = wide.breakdown
where (wide.page_id is null)
   or (long.page_id is null and wide.value is not null)
   or (long.page_id is not null and wide.value is distinct from coalesce(long.value, case when long.metric in ('{{ objects | join("', '") }}') then 0 end))
union all
select days.page_id, days.date, '(day missing)', '', null, null
from days
left join {{ ref('facebook_pages__page_daily') }} as page_daily
    on page_daily.page_id = days.page_id and page_daily.date = days.date
where page_daily.page_id is null
