{#
  One row per post and observation day (the Pacific day the tap read the post's lifetime
  totals): each metric's lifetime value and <metric>_increment, the change since the previous
  observation (null on the first). days_since_previous_observation > 1 means the increment
  covers several days (a missed run): it is stated, not spread over them.
#}
{{ facebook_pages_lifetime_series(
    ref('stg_facebook_pages__post_insights'),
    'post_id',
    var('facebook_pages_post_metrics'),
    var('facebook_pages_post_object_metrics'),
) }}
