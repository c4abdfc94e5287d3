"""Test-only: a tap process started with this folder on PYTHONPATH and ``TFP_TEST_NOW`` set
reads its clock (``tap_facebook_pages.windows.utc_now``) as that fixed instant.

Tests that compare the records of separate processes use it, so a run that crosses Pacific
midnight (08:00 UTC in winter) does not observe lifetime totals on two different days.
"""

import datetime
import os

_now = os.environ.get("TFP_TEST_NOW")
if _now:
    import tap_facebook_pages.windows as _windows

    _fixed = datetime.datetime.fromisoformat(_now)
    _windows.utc_now = lambda: _fixed
