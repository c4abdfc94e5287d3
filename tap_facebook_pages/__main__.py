"""``python -m tap_facebook_pages``."""

from tap_facebook_pages.cli import main

main()
