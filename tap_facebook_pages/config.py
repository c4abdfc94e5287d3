"""Settings: the validated, resolved form of the tap's config, checked before any Graph call."""

from __future__ import annotations

import datetime
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_facebook_pages.metrics import (
    CatalogOverrideError,
    MetricCatalog,
    load_catalog,
    merged_catalog,
)
from tap_facebook_pages.windows import last_complete_day

DEFAULT_START_DAYS = 90
DEFAULT_POSTS_LOOKBACK_DAYS = 28
# Every scalar setting's default, written once: the JSON schema and Settings both read it.
DEFAULTS: dict[str, Any] = {
    "lookback_days": 3,
    "window_days": 90,
    "periods": ["day"],
    "breakdowns": [],
    "posts_lookback_days": DEFAULT_POSTS_LOOKBACK_DAYS,
    "api_version": "v25.0",
    "api_base_url": "https://graph.facebook.com",
    "sandbox": False,
    "max_retries": 5,
    "backoff_base_seconds": 1.0,
    "max_throttle_wait_seconds": 900,
    "request_timeout_seconds": 60,
    "max_concurrency": 4,
    "batch_api": True,
    "fast_path": True,
    "shard_count": 1,
    "token_expiry_warning_days": 14,
}
MAX_LOOKBACK_DAYS = 730
MAX_TOKEN_EXPIRY_WARNING_DAYS = 365
HISTORY_DAYS = 760  # the Graph API keeps about two years of insights
# The task-index variables orchestrators set in each task of a parallel job, read in this order
# when shard_count > 1 and no shard_index is configured (see resolve_shard_index).
SHARD_INDEX_VARIABLES = (
    "JOB_COMPLETION_INDEX",  # Kubernetes Indexed Job
    "AWS_BATCH_JOB_ARRAY_INDEX",  # AWS Batch array job
    "CLOUD_RUN_TASK_INDEX",  # Google Cloud Run job
)
# The orchestrators that also say how many tasks the job has: checked against shard_count.
SHARD_COUNT_VARIABLES = {"CLOUD_RUN_TASK_INDEX": "CLOUD_RUN_TASK_COUNT"}
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX_TEXT = re.compile(r"\s*\+?[0-9]{1,9}\s*")


def silent_logger() -> logging.Logger:
    """A logger that writes nothing, for a ``Settings.from_config`` whose warnings the run
    itself logs elsewhere. It is outside the logging hierarchy (no name registered, no parent),
    so a logging config (``SINGER_SDK_LOG_CONFIG``, ``logging.config.dictConfig``) cannot turn
    it back on: a disabled named logger is re-enabled by a config that keeps existing loggers,
    and its warnings were then written twice."""
    logger = logging.Logger("tap-facebook-pages.silent", logging.CRITICAL + 1)
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


SILENT = silent_logger()


class UserError(Exception):
    """An expected condition the user must fix; shown as one line, without a traceback."""

    exit_code = 2


class ConfigError(UserError):
    """The config is wrong (unknown metric, bad dates…)."""


@dataclass(frozen=True)
class MetricPlan:
    """The metrics of one level to request, after catalog validation.

    ``requests`` maps each requested metric to the periods it is requested for (only periods
    the metric supports). ``renamed`` maps a configured retired name to its live replacement.
    """

    requests: dict[str, tuple[str, ...]]
    renamed: dict[str, str]
    skipped: tuple[str, ...]

    @property
    def metrics(self) -> list[str]:
        """The metric names to request, in config order."""
        return list(self.requests)


def plan_metrics(
    names: Iterable[str],
    periods: Iterable[str],
    *,
    level: str,
    catalog: MetricCatalog,
    logger: logging.Logger,
    setting: str,
) -> MetricPlan:
    """Validate configured metric names against the catalog.

    Unknown name → ``ConfigError`` naming it and the closest known names. Retired name with a
    live replacement → warning, the replacement is requested instead. Retired without one →
    warning, skipped. A period the metric does not support is not requested.
    """
    wanted_periods = tuple(periods)
    requests: dict[str, tuple[str, ...]] = {}
    renamed: dict[str, str] = {}
    skipped: list[str] = []
    for name in names:
        metric = catalog.get(name, level)
        if metric is None:
            close = catalog.closest(name, level)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            msg = (
                f"{setting}: unknown {level.lower()} metric '{name}'{hint} "
                f"(see catalog/METRICS.md for every known metric)"
            )
            raise ConfigError(msg)
        key = name
        if not metric.is_live:
            replacement = catalog.live_replacement(name, level)
            retired = f"retired {metric.retired_on}" if metric.retired_on else "not valid"
            if replacement:
                logger.warning(
                    "%s: metric '%s' is %s; requesting its replacement '%s' instead.",
                    setting,
                    name,
                    retired,
                    replacement,
                )
                renamed[name] = replacement
                key = replacement
                metric = catalog.get(replacement, level) or metric
            else:
                logger.warning(
                    "%s: metric '%s' is %s and has no replacement; skipping it.",
                    setting,
                    name,
                    retired,
                )
                skipped.append(name)
                continue
        usable = tuple(p for p in wanted_periods if p in metric.supported_periods)
        if not usable:
            logger.warning(
                "%s: metric '%s' supports periods %s, none of %s; not requesting it.",
                setting,
                key,
                ",".join(metric.supported_periods),
                ",".join(wanted_periods),
            )
            skipped.append(key)
            continue
        dropped = [p for p in wanted_periods if p not in usable]
        if dropped:
            logger.warning(
                "%s: metric '%s' does not answer period(s) %s (catalog: %s); requesting %s only.",
                setting,
                key,
                ",".join(dropped),
                ",".join(metric.supported_periods),
                ",".join(usable),
            )
        if key in requests:
            continue
        requests[key] = usable
    return MetricPlan(requests=requests, renamed=renamed, skipped=tuple(skipped))


def _date(value: Any, setting: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value)
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        msg = f"{setting}: '{value}' is not a date (use YYYY-MM-DD)"
        raise ConfigError(msg) from None


def _setting(config: Mapping[str, Any], name: str) -> Any:
    """A setting's value, or its one default (an absent or null setting)."""
    value = config.get(name)
    return DEFAULTS[name] if value is None else value


@dataclass(frozen=True)
class Settings:
    """Resolved settings used by streams."""

    start_date: datetime.date
    start_date_explicit: bool
    end_date: datetime.date
    end_date_explicit: bool
    lookback_days: int
    window_days: int
    periods: tuple[str, ...]
    page_metrics: MetricPlan
    page_ids: tuple[str, ...] | None
    breakdowns: tuple[str, ...] = ()
    post_metrics: MetricPlan = field(default_factory=lambda: MetricPlan({}, {}, ()))
    posts_lookback_days: int = DEFAULT_POSTS_LOOKBACK_DAYS
    reel_metrics: MetricPlan = field(default_factory=lambda: MetricPlan({}, {}, ()))
    # Transport, concurrency and sharding (the runtime reads these; secrets never in a repr).
    access_token: str | None = field(default=None, repr=False)
    app_secret: str | None = field(default=None, repr=False)
    app_id: str | None = None
    token_expiry_warning_days: int = DEFAULTS["token_expiry_warning_days"]
    sandbox: bool = DEFAULTS["sandbox"]
    api_base_url: str = DEFAULTS["api_base_url"]
    api_version: str = DEFAULTS["api_version"]
    max_retries: int = DEFAULTS["max_retries"]
    backoff_base_seconds: float = DEFAULTS["backoff_base_seconds"]
    max_throttle_wait_seconds: float = DEFAULTS["max_throttle_wait_seconds"]
    request_timeout_seconds: float = DEFAULTS["request_timeout_seconds"]
    max_concurrency: int = DEFAULTS["max_concurrency"]
    batch_api: bool = DEFAULTS["batch_api"]
    fast_path: bool = DEFAULTS["fast_path"]
    shard_count: int = DEFAULTS["shard_count"]
    shard_index: int = 0
    # The metric catalog of this run: the packaged one, with metric_catalog_path merged over it.
    # Planning, replacements and schema drift read this one, never the process-wide default.
    catalog: MetricCatalog = field(default_factory=load_catalog, repr=False, compare=False)
    metric_catalog_path: str | None = None

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        logger: logging.Logger,
        *,
        today: datetime.date | None = None,
        environ: Mapping[str, str] | None = None,
        shard_index_required: bool = True,
    ) -> Settings:
        """Validate and resolve ``config`` (raises ``ConfigError``); ``environ`` (default
        ``os.environ``) is where an orchestrator's task index is read. Discovery, which lists
        every shard's pages, does not need an index (``shard_index_required`` false)."""
        catalog_path = config.get("metric_catalog_path") or None
        catalog = run_catalog(catalog_path)
        end_default = today - datetime.timedelta(days=1) if today else last_complete_day()
        explicit_end = _date(config.get("end_date"), "end_date")
        end_date = explicit_end or end_default
        oldest = end_default + datetime.timedelta(days=1 - HISTORY_DAYS)
        if end_date < oldest:
            msg = (
                f"end_date {end_date} is more than {HISTORY_DAYS} days ago and the Graph API "
                f"keeps about two years of insights; use {oldest} or later"
            )
            raise ConfigError(msg)
        explicit_start = _date(config.get("start_date"), "start_date")
        if explicit_start is not None and explicit_start < oldest:
            logger.warning(
                "start_date %s is more than %d days ago and the Graph API keeps about two years "
                "of insights: starting at %s instead.",
                explicit_start,
                HISTORY_DAYS,
                oldest,
            )
            explicit_start = oldest
        start_date = explicit_start or (
            end_default + datetime.timedelta(days=1) - datetime.timedelta(days=DEFAULT_START_DAYS)
        )
        if start_date > end_date:
            msg = f"start_date {start_date} is after end_date {end_date}"
            raise ConfigError(msg)
        window_days = int(_setting(config, "window_days"))
        if not 1 <= window_days <= 90:
            msg = f"window_days must be between 1 and 90, not {window_days}"
            raise ConfigError(msg)
        lookback = int(_setting(config, "lookback_days"))
        if not 0 <= lookback <= MAX_LOOKBACK_DAYS:
            msg = f"lookback_days must be between 0 and {MAX_LOOKBACK_DAYS}, not {lookback}"
            raise ConfigError(msg)
        periods = tuple(_setting(config, "periods"))
        names = config.get("page_metrics") or catalog.defaults("PAGE")
        page_ids = config.get("page_ids") or None
        posts_lookback = _setting(config, "posts_lookback_days")
        if not 0 <= int(posts_lookback) <= MAX_LOOKBACK_DAYS:
            msg = (
                f"posts_lookback_days must be between 0 and {MAX_LOOKBACK_DAYS}, "
                f"not {posts_lookback}"
            )
            raise ConfigError(msg)
        content_plans = {
            setting: plan_metrics(
                config.get(setting) or catalog.defaults(level),
                ("lifetime",),
                level=level,
                catalog=catalog,
                logger=logger,
                setting=setting,
            )
            for setting, level in (("post_metrics", "POST"), ("reel_metrics", "REEL"))
        }
        page_plan = plan_metrics(
            names, periods, level="PAGE", catalog=catalog, logger=logger, setting="page_metrics"
        )
        if not page_plan.requests:
            msg = (
                f"page_metrics: no metric is left to request with periods {','.join(periods)} "
                "(each was retired or does not answer those periods; see the warnings above and "
                "catalog/METRICS.md)"
            )
            raise ConfigError(msg)
        warning_days = int(_setting(config, "token_expiry_warning_days"))
        if not 0 <= warning_days <= MAX_TOKEN_EXPIRY_WARNING_DAYS:
            msg = (
                f"token_expiry_warning_days must be between 0 and {MAX_TOKEN_EXPIRY_WARNING_DAYS}, "
                f"not {warning_days}"
            )
            raise ConfigError(msg)
        shard_count = int(_setting(config, "shard_count"))
        shard_index = resolve_shard_index(
            config,
            shard_count,
            os.environ if environ is None else environ,
            logger,
            required=shard_index_required,
        )
        return cls(
            start_date=start_date,
            start_date_explicit=explicit_start is not None,
            end_date=end_date,
            end_date_explicit=explicit_end is not None,
            lookback_days=lookback,
            window_days=window_days,
            periods=periods,
            page_metrics=page_plan,
            page_ids=tuple(dict.fromkeys(str(p) for p in page_ids)) if page_ids else None,
            breakdowns=tuple(_setting(config, "breakdowns")),
            post_metrics=content_plans["post_metrics"],
            posts_lookback_days=int(posts_lookback),
            reel_metrics=content_plans["reel_metrics"],
            access_token=config.get("access_token") or None,
            app_secret=config.get("app_secret") or None,
            app_id=str(config.get("app_id") or "").strip() or None,
            token_expiry_warning_days=warning_days,
            sandbox=bool(_setting(config, "sandbox")),
            api_base_url=str(_setting(config, "api_base_url")).rstrip("/"),
            api_version=str(_setting(config, "api_version")),
            max_retries=int(_setting(config, "max_retries")),
            backoff_base_seconds=float(_setting(config, "backoff_base_seconds")),
            max_throttle_wait_seconds=float(_setting(config, "max_throttle_wait_seconds")),
            request_timeout_seconds=float(_setting(config, "request_timeout_seconds")),
            max_concurrency=int(_setting(config, "max_concurrency")),
            batch_api=bool(_setting(config, "batch_api")),
            fast_path=bool(_setting(config, "fast_path")),
            shard_count=shard_count,
            shard_index=shard_index,
            catalog=catalog,
            metric_catalog_path=catalog_path,
        )


def resolve_shard_index(
    config: Mapping[str, Any],
    shard_count: int,
    environ: Mapping[str, str],
    logger: logging.Logger,
    *,
    required: bool = True,
) -> int:
    """The shard this run reads (0 when none is found and ``required`` is false).

    A configured ``shard_index`` wins (a WARNING when an index variable says otherwise: every
    task of an indexed job reading the same shard leaves the others unread). Otherwise one
    shard (``shard_count`` 1) is shard 0, and with several shards the index comes from the
    orchestrator: the variable named by ``shard_index_env`` when set, else the first of
    ``SHARD_INDEX_VARIABLES`` that is set (one INFO line names it). No index at all, a value
    that is not an integer in 0 .. shard_count-1, or a Cloud Run task count other than
    ``shard_count`` is a ``ConfigError``: a fleet that silently read shard 0 in every task
    would lose pages.
    """
    named = config.get("shard_index_env")
    named = str(named).strip() if named is not None else ""
    if named and not _VARIABLE_NAME.fullmatch(named):
        msg = (
            "shard_index_env: expected an environment variable name (letters, digits and _), "
            f"got {named[:60]!r}"
        )
        raise ConfigError(msg)
    candidates = (named,) if named else SHARD_INDEX_VARIABLES
    explicit = config.get("shard_index")
    if explicit is not None:
        index = int(explicit)
        other = next(
            (v for v in candidates if environ.get(v, str(index)).strip() != str(index)), None
        )
        if shard_count > 1 and other:
            # Every task of an indexed job reading the same configured shard loses the others.
            logger.warning(
                "shard_index %d is configured and environment variable %s is %r: reading "
                "shard %d (the configured index wins); remove shard_index to use the "
                "orchestrator's index.",
                index,
                other,
                environ[other][:40],
                index,
            )
        return index
    if shard_count <= 1:
        return 0
    for variable in candidates:
        text = environ.get(variable)
        if text is None:
            continue
        last = shard_count - 1
        if not _INDEX_TEXT.fullmatch(text) or int(text) > last:
            msg = (
                f"environment variable {variable}: expected a shard index 0 .. {last} "
                f"(shard_count is {shard_count}), got {text[:40]!r}"
            )
            raise ConfigError(msg)
        index = int(text)
        count_variable = SHARD_COUNT_VARIABLES.get(variable)
        tasks = environ.get(count_variable) if count_variable else None
        if tasks is not None and tasks.strip() != str(shard_count):
            msg = (
                f"shard_count is {shard_count} but environment variable {count_variable} is "
                f"{tasks[:40]!r}: make the job's task count equal shard_count, so that every "
                "shard runs once"
            )
            raise ConfigError(msg)
        logger.info(
            "Reading shard %d of %d (shard_index from environment variable %s).",
            index,
            shard_count,
            variable,
        )
        return index
    if not required:
        return 0
    if named:
        where = f"environment variable {named} (shard_index_env) is not set"
    else:
        where = f"none of {', '.join(SHARD_INDEX_VARIABLES)} is set"
    msg = (
        f"shard_index: shard_count is {shard_count} but no shard index is configured and {where}; "
        f"set shard_index (0 .. {shard_count - 1}) for each run, or run the shards as the tasks "
        "of an indexed job (every task reading shard 0 would leave pages unread)"
    )
    raise ConfigError(msg)


def run_catalog(path: str | None) -> MetricCatalog:
    """The catalog of a run: the packaged one with the override file ``path`` (the
    ``metric_catalog_path`` setting) merged over it; ``ConfigError`` naming the file and the
    problem when it cannot be used."""
    try:
        return merged_catalog(path)
    except CatalogOverrideError as error:
        msg = f"metric_catalog_path: {path}: {error}"
        raise ConfigError(msg) from None


def config_schema() -> dict[str, Any]:
    """The settings' JSON schema (the tap's ``config_jsonschema``)."""
    from singer_sdk import typing as th  # noqa: PLC0415 - only the tap class needs the SDK

    catalog = load_catalog()
    default_metrics = catalog.defaults("PAGE")
    return th.PropertiesList(
        th.Property(
            "access_token",
            th.StringType(nullable=False),
            secret=True,
            title="Access Token",
            description=(
                "User, system-user or page access token with pages_show_list, "
                "pages_read_engagement and read_insights. Required unless `sandbox` is true."
            ),
        ),
        th.Property(
            "page_ids",
            th.ArrayType(th.StringType(nullable=False)),
            title="Page IDs",
            description=(
                "Restrict extraction to these pages (numeric ids; a repeated id is read once). "
                "Default: every page the token can ANALYZE. Pages missing from /me/accounts "
                "(business-linked) are looked up directly. An empty list is an error: remove "
                "the setting to read every page."
            ),
        ),
        th.Property(
            "start_date",
            th.DateType,
            title="Start Date",
            description=(
                "First day to extract when there is no bookmark (YYYY-MM-DD). Default: 90 days "
                f"ago. A date more than {HISTORY_DAYS} days ago starts at {HISTORY_DAYS} days "
                "ago instead, with a warning: the Graph API keeps about two years of insights."
            ),
        ),
        th.Property(
            "end_date",
            th.DateType,
            title="End Date",
            description=(
                "Last day to extract (inclusive, YYYY-MM-DD), within the last "
                f"{HISTORY_DAYS} days. Default: the last complete Pacific day."
            ),
        ),
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0, maximum=MAX_LOOKBACK_DAYS),
            default=DEFAULTS["lookback_days"],
            title="Lookback Days",
            description=(
                "Re-read this many days before the bookmark on every run, for late data "
                f"(0-{MAX_LOOKBACK_DAYS})."
            ),
        ),
        th.Property(
            "window_days",
            th.IntegerType(minimum=1, maximum=90),
            default=DEFAULTS["window_days"],
            title="Window Days",
            description="Largest since/until span of one insights request (1-90 days).",
        ),
        th.Property(
            "page_metrics",
            th.ArrayType(th.StringType(nullable=False)),
            default=default_metrics,
            title="Page Metrics",
            description=(
                "Page insights metrics to request (all in one call per window). Retired names are "
                "replaced by their live successor or skipped; see catalog/METRICS.md. An empty "
                "list is an error: remove the setting to use the defaults."
            ),
        ),
        th.Property(
            "periods",
            th.ArrayType(th.StringType(allowed_values=["day", "week", "days_28"])),
            default=DEFAULTS["periods"],
            title="Periods",
            description=(
                "Periods to request: day, week and/or days_28. An empty list is an error: remove "
                "the setting to use the default."
            ),
        ),
        th.Property(
            "breakdowns",
            th.ArrayType(th.StringType(allowed_values=["is_from_ads", "is_from_followers"])),
            default=DEFAULTS["breakdowns"],
            title="Breakdowns",
            description=(
                "Also request these breakdowns for the metrics that support them (page_media_view, "
                "post_media_view): extra rows with breakdown_key is_from_ads=0 / is_from_ads=1."
            ),
        ),
        th.Property(
            "post_metrics",
            th.ArrayType(th.StringType(nullable=False)),
            default=catalog.defaults("POST"),
            title="Post Metrics",
            description=(
                "Lifetime post insights metrics (post_insights stream), requested by field "
                "expansion on the posts listing. Retired names are replaced or skipped. An empty "
                "list is an error: remove the setting to use the defaults."
            ),
        ),
        th.Property(
            "posts_lookback_days",
            th.IntegerType(minimum=0, maximum=MAX_LOOKBACK_DAYS),
            default=DEFAULTS["posts_lookback_days"],
            title="Posts Lookback Days",
            description=(
                "Posts and reels (and their insights) are re-read for every object created "
                f"within this many days before end_date, plus any new one (0-{MAX_LOOKBACK_DAYS})."
            ),
        ),
        th.Property(
            "reel_metrics",
            th.ArrayType(th.StringType(nullable=False)),
            default=catalog.defaults("REEL"),
            title="Reel Metrics",
            description=(
                "Lifetime reel metrics (reel_insights stream), requested by video_insights field "
                "expansion on the video_reels listing. Retired names are replaced or skipped. An "
                "empty list is an error: remove the setting to use the defaults."
            ),
        ),
        th.Property(
            "metric_catalog_path",
            th.StringType(nullable=False),
            title="Metric Catalog Path",
            description=(
                "A JSON file in the format of the built-in metric catalog (catalog/METRICS.md), "
                "merged over it by level and metric_key: an entry replaces the built-in one "
                "(mark a metric retired, add a period) or adds a metric, without a release. "
                "version and metrics are required, as_of is optional."
            ),
        ),
        th.Property(
            "api_version",
            th.StringType(nullable=False),
            default=DEFAULTS["api_version"],
            title="API Version",
            description="Graph API version used in the URL path, like v25.0.",
        ),
        th.Property(
            "api_base_url",
            th.StringType(nullable=False),
            default=DEFAULTS["api_base_url"],
            title="API Base URL",
            description=(
                "Graph API base URL, http:// or https:// and a host (point it at a sandbox for "
                "tests and pipelines)."
            ),
        ),
        th.Property(
            "app_secret",
            th.StringType,
            secret=True,
            title="App Secret",
            description="When set, every request carries appsecret_proof for the token it uses.",
        ),
        th.Property(
            "app_id",
            th.StringType,
            title="App ID",
            description=(
                "The Meta app's id. With app_secret, the token's lifetime is checked with the app "
                "token built from both (as Meta asks); without, with the token itself."
            ),
        ),
        th.Property(
            "token_expiry_warning_days",
            th.IntegerType(minimum=0, maximum=MAX_TOKEN_EXPIRY_WARNING_DAYS),
            default=DEFAULTS["token_expiry_warning_days"],
            title="Token Expiry Warning Days",
            description=(
                "Warn when the access token, or its data access, expires within this many days "
                f"(0-{MAX_TOKEN_EXPIRY_WARNING_DAYS}; 0: only once expired). Read once per run "
                "from /debug_token."
            ),
        ),
        th.Property(
            "sandbox",
            th.BooleanType,
            default=DEFAULTS["sandbox"],
            title="Sandbox",
            description=(
                "Read from the built-in offline Graph API sandbox (fake data) instead of "
                "Facebook; no token needed."
            ),
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=1, maximum=20),
            default=DEFAULTS["max_retries"],
            title="Max Retries",
            description="Attempts per Graph call on transient errors (and on throttling).",
        ),
        th.Property(
            "backoff_base_seconds",
            th.NumberType(minimum=0, maximum=60),
            default=DEFAULTS["backoff_base_seconds"],
            title="Backoff Base Seconds",
            description="Exponential backoff base, 0-60: waits are uniform(0, base * 2**attempt).",
        ),
        th.Property(
            "max_throttle_wait_seconds",
            th.NumberType(minimum=0, maximum=86400),
            default=DEFAULTS["max_throttle_wait_seconds"],
            title="Max Throttle Wait Seconds",
            description="Longest single wait after a rate-limit error or at high usage (0-86400).",
        ),
        th.Property(
            "request_timeout_seconds",
            th.NumberType(minimum=1, maximum=600),
            default=DEFAULTS["request_timeout_seconds"],
            title="Request Timeout Seconds",
            description="Connect and read timeout of one Graph request (1-600).",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType(minimum=1, maximum=32),
            default=DEFAULTS["max_concurrency"],
            title="Max Concurrency",
            description="Graph HTTP requests in flight at once, across pages.",
        ),
        th.Property(
            "batch_api",
            th.BooleanType,
            default=DEFAULTS["batch_api"],
            title="Use the Graph Batch API",
            description=(
                "Group independent insights requests (different pages and windows) into Graph "
                "batch requests of up to 50: fewer round trips, same quota."
            ),
        ),
        th.Property(
            "fast_path",
            th.BooleanType,
            default=DEFAULTS["fast_path"],
            title="Fast Record Path",
            description=(
                "Write each window's records in one piece (same messages as the SDK's own "
                "path, several times less CPU). Turn off to use the SDK's per-record path; it "
                "is also off by itself on an SDK version other than the one it was written for."
            ),
        ),
        th.Property(
            "shard_count",
            th.IntegerType(minimum=1),
            default=DEFAULTS["shard_count"],
            title="Shard Count",
            description=(
                "Split the fleet into this many shards (one run each); a page belongs to exactly "
                "one shard by a stable hash of its id."
            ),
        ),
        th.Property(
            "shard_index",
            th.IntegerType(minimum=0),
            title="Shard Index",
            description=(
                "Which shard this run reads: 0 .. shard_count-1. Default: 0 with one shard; with "
                "several, the orchestrator's task index (shard_index_env, else "
                f"{', '.join(SHARD_INDEX_VARIABLES)}), and an error when none is set."
            ),
        ),
        th.Property(
            "shard_index_env",
            th.StringType(nullable=False),
            title="Shard Index Variable",
            description=(
                "Name of the environment variable holding this run's shard index, for an "
                "orchestrator the tap does not know (used when shard_index is not set)."
            ),
        ),
    ).to_dict()
