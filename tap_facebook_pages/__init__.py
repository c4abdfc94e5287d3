"""tap-facebook-pages: Facebook Page Insights, pages, posts and reels as Singer streams."""
