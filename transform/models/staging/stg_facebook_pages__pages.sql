select
    id::text as page_id,
    name::text as page_name,
    category::text as category,
    username::text as username,
    link::text as link,
    verification_status::text as verification_status,
    is_published::boolean as is_published,
    fan_count::bigint as fan_count,
    followers_count::bigint as followers_count
from {{ source('facebook_pages', 'pages') }}
