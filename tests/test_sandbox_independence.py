"""The sandbox must not share the tap's beliefs about the API.

(a) No module of ``tap_facebook_pages/sandbox/`` imports a tap module (only the standard library,
    pendulum and the sandbox itself), checked on the source and in a fresh process.
(b) The tap's metric catalog and the sandbox agree: every ACTIVE catalog metric is answered by
    the sandbox, for exactly the periods the catalog lists (among day, week, days_28, lifetime),
    and every DEPRECATED / INVALID catalog metric is rejected. The sandbox is asked over HTTP.
(c) The check has teeth: a catalog with one deliberate wrong entry is reported, and only it.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
import requests

from tap_facebook_pages.metrics import Metric, load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox.api_model import LEVELS, load_model
from tap_facebook_pages.sandbox.data import ALL_PAGE_IDS, page_token, posts_for, reels_for

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_DIR = ROOT / "tap_facebook_pages" / "sandbox"
SANDBOX_PACKAGE = "tap_facebook_pages.sandbox"
ALLOWED_THIRD_PARTY = frozenset({"pendulum"})
COMPARED_PERIODS = ("day", "week", "days_28", "lifetime")
INVALID_METRIC = "(#100) The value must be a valid insights metric"
TODAY = dt.date(2026, 11, 20)
USER = "sandboxusertoken"
P1 = ALL_PAGE_IDS[0]
PT1 = page_token(P1, USER)


# --------------------------------------------------------------------------- (a) imports


def _forbidden_imports(path: Path) -> list[str]:
    """Imports of ``path`` that are neither stdlib, pendulum nor the sandbox package."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the sandbox package
                continue
            module = node.module or ""
            if module == "tap_facebook_pages":
                modules = [f"{module}.{alias.name}" for alias in node.names]
            else:
                modules = [module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", ""))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            modules = [str(node.args[0].value)]
        for module in modules:
            top = module.split(".")[0]
            inside = module == SANDBOX_PACKAGE or module.startswith(SANDBOX_PACKAGE + ".")
            if inside or (top != "tap_facebook_pages" and top in sys.stdlib_module_names):
                continue
            if top in ALLOWED_THIRD_PARTY:
                continue
            found.append(f"{path.name}:{node.lineno}: {module}")
    return found


def test_sandbox_modules_import_no_tap_module() -> None:
    files = sorted(SANDBOX_DIR.glob("*.py"))
    assert {f.name for f in files} >= {"graph.py", "data.py", "server.py", "api_model.py"}
    forbidden = [line for path in files for line in _forbidden_imports(path)]
    assert forbidden == []


def test_the_scan_catches_tap_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import json\n"
        "import pendulum\n"
        "from tap_facebook_pages.sandbox import errors\n"
        "from tap_facebook_pages.metrics import load_catalog\n"
        "from tap_facebook_pages import settings\n"
        "import tap_facebook_pages.source.rows\n"
        "import requests\n"
        "importlib.import_module('tap_facebook_pages.windows')\n"
    )
    assert [line.split(": ", 1)[1] for line in _forbidden_imports(sample)] == [
        "tap_facebook_pages.metrics",
        "tap_facebook_pages.settings",
        "tap_facebook_pages.source.rows",
        "requests",
        "tap_facebook_pages.windows",
    ]


def test_a_running_sandbox_loads_no_tap_module() -> None:
    """Start the sandbox in a fresh interpreter, serve insights, then list loaded modules."""
    script = f"""
import json, sys, urllib.request
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox.data import page_token
with SandboxServer(today="{TODAY}") as server:
    token = page_token("{P1}", "{USER}")
    url = server.url + "/v25.0/{P1}/insights?metric=page_media_view&access_token=" + token
    with urllib.request.urlopen(url) as response:
        assert json.load(response)["data"]
print(json.dumps(sorted(m for m in sys.modules if m.startswith("tap_facebook_pages"))))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert SANDBOX_PACKAGE + ".api_model" in loaded
    outside = [m for m in loaded if m != "tap_facebook_pages" and not m.startswith(SANDBOX_PACKAGE)]
    assert outside == []


# --------------------------------------------------------------------------- (b) the check


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the sandbox answered for one metric name."""

    kind: str  # answered | rejected | monetization | empty | error
    periods: frozenset[str] = frozenset()
    detail: str = ""

    def describe(self) -> str:
        if self.kind == "answered":
            return "answers " + _periods_text(self.periods)
        return {
            "rejected": "rejects it (#100 invalid metric)",
            "monetization": "answers the #200 monetization error",
            "empty": "answers an empty 200",
        }.get(self.kind, f"fails with {self.detail}")


Probe = Callable[[str, str], Answer]


def _periods_text(periods: Iterable[str]) -> str:
    ordered = [p for p in COMPARED_PERIODS if p in set(periods)]
    return "[" + ",".join(ordered) + "]"


def catalog_mismatches(catalog: Iterable[Metric], probe: Probe) -> list[str]:
    """Every disagreement between ``catalog`` and what the sandbox answers (via ``probe``).

    - ACTIVE: the sandbox must answer the metric, for exactly the catalog's periods among
      day, week, days_28 and lifetime. A monetization metric (the #200 body) counts as valid:
      the name exists, only this token may not read it, so its periods cannot be compared.
    - DEPRECATED / INVALID: the sandbox must not answer it (a #100, an error or an empty 200).
    """
    mismatches = []
    for metric in catalog:
        answer = probe(metric.level, metric.metric_key)
        where = f"{metric.level} {metric.metric_key}"
        if metric.status == "ACTIVE":
            if answer.kind == "monetization":
                continue
            if answer.kind != "answered":
                mismatches.append(f"{where}: catalog ACTIVE, sandbox {answer.describe()}")
                continue
            listed = frozenset(metric.supported_periods) & frozenset(COMPARED_PERIODS)
            if listed != answer.periods:
                mismatches.append(
                    f"{where}: catalog periods {_periods_text(listed)}, sandbox {answer.describe()}"
                )
        elif answer.kind in ("answered", "monetization"):
            mismatches.append(f"{where}: catalog {metric.status}, sandbox {answer.describe()}")
    return mismatches


class HttpProbe:
    """Asks a running sandbox about one metric at a time (answers are cached)."""

    def __init__(self, server: SandboxServer) -> None:
        post = posts_for(P1, TODAY)[0]
        reel = reels_for(P1, TODAY)[0]
        self._paths = {
            "PAGE": f"/{P1}/insights",
            "POST": f"/{post.id}/insights",
            "REEL": f"/{reel.id}/video_insights",
        }
        self._server = server
        self._cache: dict[tuple[str, str], Answer] = {}

    def _get(self, level: str, **params: str) -> requests.Response:
        return requests.get(
            f"{self._server.url}/v25.0{self._paths[level]}",
            params=params,
            headers={"Authorization": f"Bearer {PT1}"},
            timeout=10,
        )

    def __call__(self, level: str, name: str) -> Answer:
        key = (level, name)
        if key not in self._cache:
            self._cache[key] = self._ask(level, name)
        return self._cache[key]

    def _ask(self, level: str, name: str) -> Answer:
        response = self._get(level, metric=name)
        if response.status_code != 200:
            error = response.json().get("error", {})
            if response.status_code == 400 and error.get("message") == INVALID_METRIC:
                return Answer("rejected")
            if response.status_code == 403 and error.get("code") == 200:
                return Answer("monetization")
            return Answer("error", detail=f"HTTP {response.status_code} code {error.get('code')}")
        periods = set()
        for period in COMPARED_PERIODS:
            answer = self._get(level, metric=name, period=period)
            if answer.status_code == 200 and any(
                entry["name"] == name and entry["period"] == period
                for entry in answer.json()["data"]
            ):
                periods.add(period)
        return Answer("answered", frozenset(periods)) if periods else Answer("empty")


@pytest.fixture(scope="module")
def probe() -> Iterator[HttpProbe]:
    with SandboxServer(today=TODAY) as server:
        yield HttpProbe(server)


def test_catalog_agrees_with_the_sandbox(probe: HttpProbe) -> None:
    mismatches = catalog_mismatches(load_catalog(), probe)
    assert mismatches == [], "\n".join(mismatches)


def test_every_catalog_default_is_answered(probe: HttpProbe) -> None:
    """Not the periods (see above), only that the tap's defaults are live in the sandbox."""
    catalog = load_catalog()
    for level in LEVELS:
        for name in catalog.defaults(level):
            assert probe(level, name).kind == "answered", (level, name)


# --------------------------------------------------------------------------- (c) teeth


def _faithful_catalog() -> list[Metric]:
    """A catalog that says exactly what the sandbox model says (as the check compares it)."""
    model = load_model()
    entries = []

    def entry(level: str, name: str, status: str, periods: Iterable[str]) -> Metric:
        return Metric(
            metric_key=name,
            level=level,
            supported_periods=tuple(periods),
            value_type="number",
            supports_breakdowns=(),
            status=status,
            retired_on=None,
            replacement_metric_key=None,
            title=name,
            description=name,
            is_default=False,
        )

    for level in LEVELS:
        for metric in model.answered(level):
            entries.append(entry(level, metric.name, "ACTIVE", metric.periods))
        for name in sorted(model.monetization_gated(level)):
            entries.append(entry(level, name, "ACTIVE", ("day",)))
        for name in model.recorded_invalid(level):
            entries.append(entry(level, name, "DEPRECATED", ("day",)))
        for name in sorted(model.empty(level)):
            entries.append(entry(level, name, "INVALID", ("lifetime",)))
    return entries


def _day_only(entries: Iterable[Metric], name: str) -> list[Metric]:
    return [
        dataclasses.replace(m, supported_periods=("day",))
        if (m.level, m.metric_key) == ("PAGE", name)
        else m
        for m in entries
    ]


def test_check_passes_a_faithful_catalog(probe: HttpProbe) -> None:
    assert catalog_mismatches(_faithful_catalog(), probe) == []


def test_check_reports_exactly_one_wrong_entry(probe: HttpProbe) -> None:
    wrong = _day_only(_faithful_catalog(), "page_post_engagements")
    assert catalog_mismatches(wrong, probe) == [
        "PAGE page_post_engagements: catalog periods [day], sandbox answers [day,week,days_28]"
    ]


def test_check_reports_a_wrong_entry_in_a_copy_of_the_real_catalog(probe: HttpProbe) -> None:
    real = list(load_catalog())
    before = catalog_mismatches(real, probe)
    after = catalog_mismatches(_day_only(real, "page_post_engagements"), probe)
    assert [m for m in after if m not in before] == [
        "PAGE page_post_engagements: catalog periods [day], sandbox answers [day,week,days_28]"
    ]


def test_check_reports_retired_and_invalid_beliefs(probe: HttpProbe) -> None:
    catalog = _faithful_catalog()
    flipped = [
        dataclasses.replace(m, status="ACTIVE")
        if (m.level, m.metric_key) == ("PAGE", "page_impressions")
        else dataclasses.replace(m, status="DEPRECATED")
        if (m.level, m.metric_key) == ("REEL", "blue_reels_play_count")
        else m
        for m in catalog
    ]
    assert catalog_mismatches(flipped, probe) == [
        "PAGE page_impressions: catalog ACTIVE, sandbox rejects it (#100 invalid metric)",
        "REEL blue_reels_play_count: catalog DEPRECATED, sandbox answers [lifetime]",
    ]
