{#
  One row per reel and observation day, as facebook_pages__post_daily. Averages
  (post_video_avg_time_watched, ms) are observed values only: an increment of an average means
  nothing.
#}
{{ facebook_pages_lifetime_series(
    ref('stg_facebook_pages__reel_insights'),
    'reel_id',
    var('facebook_pages_reel_metrics'),
    var('facebook_pages_reel_object_metrics'),
    var('facebook_pages_reel_average_metrics'),
) }}
