{# Lifetime totals of each reel, one row per (reel, metric, observation day, breakdown_key). #}
select
    video_id::text as reel_id,
    page_id::text as page_id,
    {{ facebook_pages_insights_columns() }}
from {{ facebook_pages_source('reel_insights', facebook_pages_insights_source_columns('video_id')) }} as src
