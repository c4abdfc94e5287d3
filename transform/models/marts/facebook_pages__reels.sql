{# One row per reel: its metadata and the latest lifetime values observed. #}
with latest as (
    select distinct on (reel_id) *
    from {{ ref('facebook_pages__reel_daily') }}
    order by reel_id, date desc
),

observations as (
    select reel_id, min(date) as first_observation_date, count(*) as observations
    from {{ ref('facebook_pages__reel_daily') }}
    group by reel_id
)

select
    reels.reel_id,
    reels.page_id,
    pages.page_name,
    reels.created_time_utc,
    reels.created_date,
    reels.title,
    reels.description,
    reels.permalink_url,
    reels.length_seconds,
    observations.first_observation_date,
    latest.date as latest_observation_date,
    coalesce(observations.observations, 0) as observations,
    {% for metric in var('facebook_pages_reel_metrics') + var('facebook_pages_reel_object_metrics') + var('facebook_pages_reel_average_metrics') %}
    latest.{{ metric }}{% if not loop.last %},{% endif %}
    {% endfor %}
from {{ ref('stg_facebook_pages__reels') }} as reels
left join {{ ref('stg_facebook_pages__pages') }} as pages
    on pages.page_id = reels.page_id
left join latest
    on latest.reel_id = reels.reel_id
left join observations
    on observations.reel_id = reels.reel_id
