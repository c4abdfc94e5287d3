{#
  One row per page, Pacific day and reaction type (the keys of the object metric
  page_actions_post_reactions_total: like, love, wow, haha, sorry, anger): a new key the API
  adds becomes new rows, not a schema change. Days without reactions have no rows.
#}
select
    insights.page_id,
    pages.page_name,
    insights.date,
    insights.value_key as reaction_type,
    insights.value as reactions
from {{ ref('stg_facebook_pages__page_insights') }} as insights
left join {{ ref('stg_facebook_pages__pages') }} as pages
    on pages.page_id = insights.page_id
where insights.metric = 'page_actions_post_reactions_total'
  and insights.period = 'day'
  and insights.breakdown = ''
  and insights.value_key <> ''
