select
    id::text as post_id,
    page_id::text as page_id,
    created_time as created_time_utc,
    ((created_time at time zone 'UTC') at time zone 'America/Los_Angeles')::date as created_date,
    updated_time as updated_time_utc,
    message::text as message,
    permalink_url::text as permalink_url,
    status_type::text as status_type,
    is_published::boolean as is_published,
    shares_count::bigint as shares_count,
    reactions_count::bigint as reactions_count,
    comments_count::bigint as comments_count
from {{ facebook_pages_source('posts', {
    'id': 'text', 'page_id': 'text', 'created_time': 'timestamp', 'updated_time': 'timestamp',
    'message': 'text', 'permalink_url': 'text', 'status_type': 'text', 'is_published': 'boolean',
    'shares_count': 'bigint', 'reactions_count': 'bigint', 'comments_count': 'bigint',
}) }} as src
