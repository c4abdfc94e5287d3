{# One row per post: its metadata and the latest lifetime values observed. #}
with latest as (
    select distinct on (post_id) *
    from {{ ref('facebook_pages__post_daily') }}
    order by post_id, date desc
),

observations as (
    select post_id, min(date) as first_observation_date, count(*) as observations
    from {{ ref('facebook_pages__post_daily') }}
    group by post_id
)

select
    posts.post_id,
    posts.page_id,
    pages.page_name,
    posts.created_time_utc,
    posts.created_date,
    posts.message,
    posts.permalink_url,
    posts.status_type,
    posts.is_published,
    posts.shares_count,
    posts.reactions_count,
    posts.comments_count,
    observations.first_observation_date,
    latest.date as latest_observation_date,
    coalesce(observations.observations, 0) as observations,
    {% for metric in var('facebook_pages_post_metrics') + var('facebook_pages_post_object_metrics') %}
    latest.{{ metric }}{% if not loop.last %},{% endif %}
    {% endfor %}
from {{ ref('stg_facebook_pages__posts') }} as posts
left join {{ ref('stg_facebook_pages__pages') }} as pages
    on pages.page_id = posts.page_id
left join latest
    on latest.post_id = posts.post_id
left join observations
    on observations.post_id = posts.post_id
