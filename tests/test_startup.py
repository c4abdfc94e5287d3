"""Start-up (issue 15): the CLI imports only the parts of singer-sdk and of its dependencies a
run needs; what it defers still works when something asks for it."""

from __future__ import annotations

import json
import subprocess
import sys

NOT_AT_START = [
    "singer_sdk.target_base",  # targets, sinks, inline mappers: not a tap's business
    "singer_sdk.sinks",
    "singer_sdk.mapper_base",
    "singer_sdk.streams.rest",  # REST/GraphQL streams
    "singer_sdk.schema.source",  # OpenAPI schema sources
    "joblib",
    "pendulum",  # the Pacific zone comes from zoneinfo
    "tap_facebook_pages.sandbox",
]


def _fresh(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def test_the_cli_imports_only_what_a_run_needs() -> None:
    """What main() imports before the run (the tap class, as it loads it)."""
    loaded = _fresh(
        "import json, sys\n"
        "import tap_facebook_pages.cli as cli\n"
        "cli.tap_class()\n"
        f"print(json.dumps([m for m in {NOT_AT_START!r} if m in sys.modules]))"
    )
    assert loaded == []


def test_the_first_graph_calls_need_no_sdk_import() -> None:
    """The CLI module and the early start (early.py) load no part of singer-sdk: the first
    Graph calls leave while it is being imported."""
    loaded = _fresh(
        "import json, sys\n"
        "import tap_facebook_pages.cli\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('singer_sdk', "
        "'jsonschema', 'tap_facebook_pages.tap', 'tap_facebook_pages.streams')))))"
    )
    assert loaded == []


def test_deferred_sdk_names_are_there_when_asked_for() -> None:
    found = _fresh(
        "import json, sys\n"
        "import tap_facebook_pages.cli\n"
        "import singer_sdk\n"
        "from singer_sdk import Stream, Tap, Target\n"
        "from singer_sdk.streams import RESTStream\n"
        "from singer_sdk.streams.core import Stream as CoreStream\n"
        "from singer_sdk.tap_base import Tap as BaseTap\n"
        "print(json.dumps([Stream is CoreStream, Tap is BaseTap, Target.__name__,\n"
        "    RESTStream.__name__, singer_sdk.typing.__name__, 'singer_sdk.sinks' in sys.modules]))"
    )
    assert found == [True, True, "Target", "RESTStream", "singer_sdk.typing", True]
