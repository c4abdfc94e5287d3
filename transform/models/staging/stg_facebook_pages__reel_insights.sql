{# Lifetime totals of each reel, one row per (reel, metric, observation day, breakdown_key). #}
select
    video_id::text as reel_id,
    page_id::text as page_id,
    {{ facebook_pages_insights_columns() }}
from {{ source('facebook_pages', 'reel_insights') }}
