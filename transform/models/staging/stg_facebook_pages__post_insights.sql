{# Lifetime totals of each post, one row per (post, metric, observation day, breakdown_key). #}
select
    post_id::text as post_id,
    page_id::text as page_id,
    {{ facebook_pages_insights_columns() }}
from {{ source('facebook_pages', 'post_insights') }}
