{#
  For every post and reel and every additive metric, the increments of the daily series add up
  to the latest lifetime value observed minus the first one (over observations where the
  metric was present). Returns the objects and metrics where they do not.
#}
{% set series = [
    ('facebook_pages__post_daily', 'post_id', var('facebook_pages_post_metrics') + var('facebook_pages_post_object_metrics')),
    ('facebook_pages__reel_daily', 'reel_id', var('facebook_pages_reel_metrics') + var('facebook_pages_reel_object_metrics')),
] %}

{% for model, id_column, metrics in series %}
{% for metric in metrics %}
select
    '{{ model }}' as model,
    {{ id_column }} as object_id,
    '{{ metric }}' as metric,
    sum({{ metric }}_increment) as increments,
    (array_agg({{ metric }} order by date desc))[1] - (array_agg({{ metric }} order by date))[1]
        as latest_minus_first
from {{ ref(model) }}
group by {{ id_column }}
having count(*) filter (where {{ metric }} is null) = 0
   and coalesce(sum({{ metric }}_increment), 0)
       <> (array_agg({{ metric }} order by date desc))[1] - (array_agg({{ metric }} order by date))[1]
{% if not (loop.last) %}union all{% endif %}
{% endfor %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
