select
    id::text as reel_id,
    page_id::text as page_id,
    created_time as created_time_utc,
    ((created_time at time zone 'UTC') at time zone 'America/Los_Angeles')::date as created_date,
    updated_time as updated_time_utc,
    title::text as title,
    description::text as description,
    permalink_url::text as permalink_url,
    length::numeric as length_seconds
from {{ facebook_pages_source('reels', {
    'id': 'text', 'page_id': 'text', 'created_time': 'timestamp', 'updated_time': 'timestamp',
    'title': 'text', 'description': 'text', 'permalink_url': 'text', 'length': 'numeric',
}) }} as src
