{# Lifetime totals of each post, one row per (post, metric, observation day, breakdown_key). #}
select
    post_id::text as post_id,
    page_id::text as page_id,
    {{ facebook_pages_insights_columns() }}
from {{ facebook_pages_source('post_insights', facebook_pages_insights_source_columns('post_id')) }} as src
