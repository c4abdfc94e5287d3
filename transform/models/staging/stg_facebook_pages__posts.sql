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
from {{ source('facebook_pages', 'posts') }}
