"""``tap-facebook-pages-probe``: ask the API which catalog metrics answer, and for which periods.

For one page (the first readable one unless ``--page``) every catalog metric of a level is asked
alone, once per period (day, week, days_28, plus lifetime where the catalog lists it), over a
short window (the last three complete days), the way the live probe of graph-api.md §11.1 was
done. The calls go through the run's own ``Runtime`` (client, pacing, discovery, page tokens) and
its ``BatchExecutor``.

A single metric answering code 1 subcode 99 ("reduce the amount of data") or a code 100 other
than "valid insights metric" for a period means *that period is not answered*. The client would
retry code 1 as transient; the probe marks those answers final on its client
(``GraphClient.final_error``), so each one costs exactly one call. Real transient failures (code
2, 5xx, a null batch item) and throttles are still retried as in a run.

``--write FILE`` writes an override file for ``metric_catalog_path`` with the entries whose
observed facts (status, periods, value type, the monetization requirement, object keys beyond a
metric's fixed ``keys``) differ from the catalog.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any, TextIO

from tap_facebook_pages.config import UserError
from tap_facebook_pages.graph.batch import RawBody
from tap_facebook_pages.graph.errors import (
    AuthError,
    DeniedError,
    GraphError,
    InvalidMetricError,
    PagePermissionError,
)
from tap_facebook_pages.graph.redact import Redactor
from tap_facebook_pages.metrics import LEVELS, PERIODS, Metric
from tap_facebook_pages.report import RunReport
from tap_facebook_pages.runtime import AuthFailedError, Runtime, auth_message
from tap_facebook_pages.validation import clean
from tap_facebook_pages.windows import pacific_today

PROG = "tap-facebook-pages-probe"
BASE_PERIODS = ("day", "week", "days_28")
WINDOW_DAYS = 3

ANSWERED = "answered"
RETIRED = "retired #100"
PERMISSION = "permission #200"
OTHER = "other"


class ProbeError(UserError):
    """The probe could not run (no such page, the page is unreadable)."""

    exit_code = 1


class BadInputError(UserError):
    """Bad command-line input (exit 2)."""


def period_not_answered(error: GraphError) -> bool:
    """True when a single-metric answer means "this period is not answered": code 1 subcode 99
    (reduce the amount of data), or a code 100 that is not "valid insights metric" and not
    about the page itself."""
    if error.code == 1 and error.subcode == 99:
        return True
    return error.code == 100 and not isinstance(error, (InvalidMetricError, PagePermissionError))


@dataclasses.dataclass
class MetricResult:
    """What one metric answered, per period asked."""

    metric: Metric
    asked: tuple[str, ...]
    answered: list[str] = dataclasses.field(default_factory=list)  # periods with values
    empty: list[str] = dataclasses.field(default_factory=list)  # accepted, no values
    not_answered: dict[str, str] = dataclasses.field(default_factory=dict)  # period -> error
    errors: dict[str, GraphError] = dataclasses.field(default_factory=dict)  # metric-level
    value_types: set[str] = dataclasses.field(default_factory=set)
    keys: set[str] = dataclasses.field(default_factory=set)  # keys of object values seen

    @property
    def status(self) -> str:
        """answered / retired #100 / permission #200 / other: message."""
        errors = list(self.errors.values())
        if any(isinstance(e, InvalidMetricError) for e in errors):
            return RETIRED
        if any(isinstance(e, DeniedError) for e in errors):
            return PERMISSION
        if errors:
            return f"{OTHER}: {errors[0].describe()}"
        return ANSWERED

    @property
    def value_type(self) -> str:
        """number, object, number+object, or none."""
        return "+".join(sorted(self.value_types)) if self.value_types else "none"


@dataclasses.dataclass
class ProbeResult:
    """The probe of one page at one level."""

    page_id: str
    level: str
    since: datetime.date
    until: datetime.date  # exclusive
    probed_on: datetime.date
    results: list[MetricResult]
    calls: int  # Graph calls spent on the metrics (retries included)


def periods_to_ask(metric: Metric) -> tuple[str, ...]:
    """day, week and days_28, plus lifetime when the catalog lists it."""
    extra = ("lifetime",) if "lifetime" in metric.supported_periods else ()
    return BASE_PERIODS + extra


def _edge(level: str) -> str:
    return "video_insights" if level == "REEL" else "insights"


def _record_answer(result: MetricResult, period: str, body: Any) -> None:
    data = body.get("data") if isinstance(body, dict) else None
    values: list[Any] = []
    for entry in data if isinstance(data, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("values"), list):
            values += [v.get("value") for v in entry["values"] if isinstance(v, dict)]
    if not values:
        result.empty.append(period)
        return
    result.answered.append(period)
    for value in values:
        if isinstance(value, dict):
            result.value_types.add("object")
            result.keys.update(str(key) for key in value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            result.value_types.add("number")


def _settle(result: MetricResult, period: str, future: Future[Any]) -> None:
    try:
        body = future.result()
        if isinstance(body, RawBody):
            body = body.parse()
    except GraphError as error:
        if period_not_answered(error):
            result.not_answered[period] = error.describe()
        elif isinstance(error, PagePermissionError) and not isinstance(error, DeniedError):
            msg = f"page {error.path or ''} cannot be read: {error.describe()}"
            raise ProbeError(msg) from None
        else:
            result.errors[period] = error
        return
    _record_answer(result, period, body)


def probe(
    runtime: Runtime,
    *,
    page_id: str | None = None,
    level: str = "PAGE",
    today: datetime.date | None = None,
) -> ProbeResult:
    """Ask every catalog metric of ``level`` alone, once per period, for one page."""
    catalog = runtime.settings.catalog
    graph = runtime.graph
    graph.final_error = period_not_answered
    pages = runtime.pages
    page = next((p for p in pages if p.id == page_id), None) if page_id else None
    if page_id and page is None:
        readable = ", ".join(p.id for p in pages[:10]) or "none"
        msg = f"--page {page_id}: not a page the token can read (readable: {readable})"
        raise BadInputError(msg)
    if page is None:
        page = next((p for p in pages if p.can_analyze), pages[0] if pages else None)
    if page is None:
        msg = "the token can read no page"
        raise ProbeError(msg)
    graph.register_token(page.token)
    object_id, token = page.id, page.token
    if level != "PAGE":
        object_id = _content_id(runtime, page, level)
    today = today or pacific_today()
    end = today - datetime.timedelta(days=1)
    since = end - datetime.timedelta(days=WINDOW_DAYS - 1)
    until = end + datetime.timedelta(days=1)
    results = [MetricResult(m, periods_to_ask(m)) for m in catalog.at_level(level)]
    requests: list[tuple[str, dict[str, Any], str, str | None]] = []
    keys: list[tuple[MetricResult, str]] = []
    for result in results:
        for period in result.asked:
            params = {"metric": result.metric.metric_key, "period": period}
            if level == "PAGE":
                params |= {"since": since.isoformat(), "until": until.isoformat()}
            requests.append((f"{object_id}/{_edge(level)}", params, token, page.id))
            keys.append((result, period))
    before = graph.total_calls()
    futures = runtime.executor.submit_many(requests)
    for (result, period), future in zip(keys, futures, strict=True):
        _settle(result, period, future)
    return ProbeResult(
        page_id=object_id,
        level=level,
        since=since,
        until=until,
        probed_on=today,
        results=results,
        calls=graph.total_calls() - before,
    )


def _content_id(runtime: Runtime, page: Any, level: str) -> str:
    """The newest post (POST) or reel (REEL) of ``page``: the object the metrics are asked of."""
    edge, fields = ("posts", "id") if level == "POST" else ("video_reels", "id")
    try:
        body = runtime.graph.get(
            f"{page.id}/{edge}", {"fields": fields, "limit": 1}, token=page.token, scope=page.id
        )
    except GraphError as error:
        msg = f"could not list the {edge} of page {page.id}: {error.describe()}"
        raise ProbeError(msg) from None
    data = body.get("data") if isinstance(body, dict) else None
    if not data or not isinstance(data[0], dict) or not data[0].get("id"):
        msg = f"page {page.id} has no {edge} to probe {level} metrics on"
        raise ProbeError(msg)
    return str(data[0]["id"])


# -- output ------------------------------------------------------------------------------


def _periods_text(result: MetricResult) -> str:
    parts = [p for p in result.asked if p in result.answered]
    return ",".join(parts) or "-"


def format_table(probe_result: ProbeResult) -> str:
    """The table: metric, status, periods answered, value type seen."""
    rows = [("metric", "status", "periods answered", "value type")]
    for result in probe_result.results:
        status = result.status
        if result.not_answered and status == ANSWERED:
            missing = ",".join(p for p in result.asked if p in result.not_answered)
            status += f" (not {missing})"
        rows.append((result.metric.metric_key, status, _periods_text(result), result.value_type))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    header = (
        f"{probe_result.level} metrics of {probe_result.page_id}, "
        f"{probe_result.since}..{probe_result.until - datetime.timedelta(days=1)}: "
        f"{len(probe_result.results)} metrics, {probe_result.calls} calls"
    )
    return "\n".join([header, *lines])


def _ordered(periods: Sequence[str]) -> list[str]:
    return [p for p in PERIODS if p in set(periods)]


def _evidence(probe_result: ProbeResult, result: MetricResult) -> str:
    window = f"{probe_result.since}..{probe_result.until - datetime.timedelta(days=1)}"
    facts = [f"{result.status}"]
    if result.answered:
        facts.append("answered " + ",".join(_ordered(result.answered)))
    if result.empty:
        facts.append("no values " + ",".join(_ordered(result.empty)))
    facts += [f"{p} not answered ({msg})" for p, msg in result.not_answered.items()]
    return (
        f"probe {probe_result.probed_on}: {probe_result.level} {probe_result.page_id}, "
        f"{window}, each period asked alone: {'; '.join(facts)}"
    )[:1000]


def override_entry(probe_result: ProbeResult, result: MetricResult) -> dict[str, Any] | None:
    """The catalog entry the observation calls for, or None when it agrees with the catalog
    (or tells nothing: an error other than #100/#200, or no period with values)."""
    metric = result.metric
    entry = metric.to_dict()
    status = result.status
    changed = False
    if status == RETIRED:
        if metric.is_live:
            entry |= {"status": "INVALID", "is_default": False, "retired_on": None}
            changed = True
    elif status == PERMISSION:
        if not metric.is_live or metric.requires != "monetization":
            entry |= {"status": "ACTIVE", "retired_on": None, "replacement_metric_key": None}
            entry["requires"] = "monetization"
            changed = True
    elif status == ANSWERED and result.answered:
        unprobed = [p for p in metric.supported_periods if p not in result.asked]
        periods = _ordered([*result.answered, *unprobed])
        if not metric.is_live:
            entry |= {"status": "ACTIVE", "retired_on": None, "replacement_metric_key": None}
            changed = True
        if periods != _ordered(metric.supported_periods):
            entry["supported_periods"] = periods
            changed = True
        if result.value_types in ({"number"}, {"object"}):
            seen = next(iter(result.value_types))
            if seen != metric.value_type:
                entry["value_type"] = seen
                changed = True
                if seen == "number":
                    entry.pop("keys", None)
        new_keys = sorted(result.keys - set(metric.keys or ()))
        if metric.keys and entry["value_type"] == "object" and new_keys:
            entry["keys"] = [*metric.keys, *new_keys]  # acknowledged: no object_keys drift
            changed = True
    if not changed:
        return None
    if entry["status"] == "ACTIVE" and entry["description"].startswith("Retired "):
        entry["description"] = entry["description"].split(": ", 1)[-1] or entry["title"]
    entry["evidence"] = _evidence(probe_result, result)
    return entry


def override_document(probe_result: ProbeResult) -> dict[str, Any] | None:
    """The override file (``metric_catalog_path`` format), or None when nothing differs."""
    entries = [e for r in probe_result.results if (e := override_entry(probe_result, r))]
    if not entries:
        return None
    return {"version": 2, "as_of": probe_result.probed_on.isoformat(), "metrics": entries}


# -- command line ------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise BadInputError(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line (``BadInputError`` on bad input)."""
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--config", required=True, help="the tap's config.json")
    parser.add_argument("--page", help="page id (default: the first readable page)")
    parser.add_argument(
        "--level", default="PAGE", type=str.upper, help="PAGE (default), POST or REEL"
    )
    parser.add_argument("--write", metavar="FILE", help="write an override file for differences")
    args = parser.parse_args(list(argv))
    if args.level not in LEVELS:
        msg = f"--level {args.level}: expected one of {', '.join(LEVELS)}"
        raise BadInputError(msg)
    return args


def read_config(path: str) -> dict[str, Any]:
    """The config file, as a JSON object (``BadInputError`` otherwise)."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise BadInputError(f"--config {path}: not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadInputError(f"--config {path}: cannot be read ({type(error).__name__})") from None
    except json.JSONDecodeError as error:
        raise BadInputError(f"--config {path}: not valid JSON: {error.msg}") from None
    if not isinstance(config, dict):
        raise BadInputError(f"--config {path}: expected a JSON object")
    return config


def run(
    argv: Sequence[str],
    *,
    out: TextIO | None = None,
    today: datetime.date | None = None,
    config_overrides: Mapping[str, Any] | None = None,
) -> ProbeResult:
    """Parse ``argv``, probe, print the table, write the override file when asked."""
    out = out or sys.stdout
    args = parse_args(argv)
    config = read_config(args.config) | dict(config_overrides or {})
    logger = logging.getLogger(PROG)
    runtime = Runtime(config, logger=logger, redactor=Redactor(), report=RunReport())
    try:
        try:
            result = probe(runtime, page_id=args.page, level=args.level, today=today)
        except AuthError as error:  # the token died after discovery
            raise AuthFailedError(auth_message(error)) from None
    finally:
        runtime.close()
    out.write(format_table(result) + "\n")
    if args.write:
        document = override_document(result)
        if document is None:
            out.write(f"no differences from the catalog: {args.write} not written\n")
        else:
            try:
                with open(args.write, "w", encoding="utf-8") as handle:
                    json.dump(document, handle, indent=2)
                    handle.write("\n")
            except OSError as error:
                msg = f"--write {args.write}: cannot be written ({type(error).__name__})"
                raise BadInputError(msg) from None
            out.write(f"{len(document['metrics'])} differing entries written to {args.write}\n")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one line on stderr and a non-zero exit for expected failures."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        run(sys.argv[1:] if argv is None else argv)
    except UserError as error:
        sys.stderr.write(f"{PROG}: error: {clean(str(error))}\n")
        sys.stderr.flush()
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
