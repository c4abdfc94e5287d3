"""tap-facebook-pages: settings, discovery and the run's shared objects."""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from singer_sdk import Stream
from singer_sdk import typing as th

from tap_facebook_pages.config import HISTORY_DAYS, MAX_LOOKBACK_DAYS, Settings, UserError
from tap_facebook_pages.graph.batch import MAX_BATCH, BatchExecutor
from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.graph.errors import AuthError, GraphError
from tap_facebook_pages.graph.redact import REDACTOR, install_redaction
from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.report import Failure, RunReport
from tap_facebook_pages.sdk_fastpath import FastPathTap
from tap_facebook_pages.source.content import ContentFetcher
from tap_facebook_pages.source.discovery import Discovery, Page, discover_pages, missing_permissions
from tap_facebook_pages.source.prefetch import PlanItem, Prefetcher
from tap_facebook_pages.stopping import STOP, Stopped
from tap_facebook_pages.streams.content import (
    PostInsightsStream,
    PostsStream,
    ReelInsightsStream,
    ReelsStream,
)
from tap_facebook_pages.streams.page_insights import PageInsightsStream
from tap_facebook_pages.streams.pages import PagesStream
from tap_facebook_pages.validation import check_tap_inputs
from tap_facebook_pages.writer import BufferedMsgSpecWriter

SANDBOX_TOKEN = "sandbox-user-token"  # noqa: S105 - a fixed fake token the sandbox accepts
RENEWAL_HELP = (
    "Get a new long-lived token: exchange a fresh user token with GET /oauth/access_token"
    "?grant_type=fb_exchange_token (see README 'Getting a token'), or use a system-user token."
)


class AuthFailedError(UserError):
    """The access token is expired, revoked or invalid."""


class DiscoveryFailedError(UserError):
    """The pages could not be listed at all (a config problem, or the API is down)."""

    exit_code = 1


class RunFailedError(UserError):
    """Some pages or windows could not be read; the others were loaded."""

    exit_code = 1


# Estimated insights values (days x metrics x periods) prefetched at most, about 1.5 MB of JSON;
# the minimum of two full batches ahead wins over it (a backfill's 90-day windows).
PREFETCH_BUDGET_VALUES = 60_000


def _estimated_values(item: PlanItem) -> float:
    """Rough size of one planned insights request's answer, in values."""
    params = item[2]
    try:
        days = (
            datetime.date.fromisoformat(params["until"])
            - datetime.date.fromisoformat(params["since"])
        ).days
    except (KeyError, ValueError):
        return 1.0
    metrics = str(params.get("metric") or "").count(",") + 1
    periods = 1 if params.get("period") else 2
    return float(max(1, days) * metrics * periods * (2 if params.get("breakdown") else 1))


def shard_of(page_id: str, shard_count: int) -> int:
    """The shard of a page: a stable hash of its id (same on every machine and run)."""
    digest = hashlib.sha256(page_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shard_count


def _config_schema() -> dict[str, Any]:
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
            default=3,
            title="Lookback Days",
            description=(
                "Re-read this many days before the bookmark on every run, for late data "
                f"(0-{MAX_LOOKBACK_DAYS})."
            ),
        ),
        th.Property(
            "window_days",
            th.IntegerType(minimum=1, maximum=90),
            default=90,
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
            default=["day"],
            title="Periods",
            description=(
                "Periods to request: day, week and/or days_28. An empty list is an error: remove "
                "the setting to use the default."
            ),
        ),
        th.Property(
            "breakdowns",
            th.ArrayType(th.StringType(allowed_values=["is_from_ads", "is_from_followers"])),
            default=[],
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
            default=28,
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
            "api_version",
            th.StringType(nullable=False),
            default="v25.0",
            title="API Version",
            description="Graph API version used in the URL path, like v25.0.",
        ),
        th.Property(
            "api_base_url",
            th.StringType(nullable=False),
            default="https://graph.facebook.com",
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
            "sandbox",
            th.BooleanType,
            default=False,
            title="Sandbox",
            description=(
                "Read from the built-in offline Graph API sandbox (fake data) instead of "
                "Facebook; no token needed."
            ),
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=1, maximum=20),
            default=5,
            title="Max Retries",
            description="Attempts per Graph call on transient errors (and on throttling).",
        ),
        th.Property(
            "backoff_base_seconds",
            th.NumberType(minimum=0, maximum=60),
            default=1.0,
            title="Backoff Base Seconds",
            description="Exponential backoff base, 0-60: waits are uniform(0, base * 2**attempt).",
        ),
        th.Property(
            "max_throttle_wait_seconds",
            th.NumberType(minimum=0, maximum=86400),
            default=900,
            title="Max Throttle Wait Seconds",
            description="Longest single wait after a rate-limit error or at high usage (0-86400).",
        ),
        th.Property(
            "request_timeout_seconds",
            th.NumberType(minimum=1, maximum=600),
            default=60,
            title="Request Timeout Seconds",
            description="Connect and read timeout of one Graph request (1-600).",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType(minimum=1, maximum=32),
            default=4,
            title="Max Concurrency",
            description="Graph HTTP requests in flight at once, across pages.",
        ),
        th.Property(
            "batch_api",
            th.BooleanType,
            default=True,
            title="Use the Graph Batch API",
            description=(
                "Group independent insights requests (different pages and windows) into Graph "
                "batch requests of up to 50: fewer round trips, same quota."
            ),
        ),
        th.Property(
            "fast_path",
            th.BooleanType,
            default=True,
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
            default=1,
            title="Shard Count",
            description=(
                "Split the fleet into this many shards (one run each); a page belongs to exactly "
                "one shard by a stable hash of its id."
            ),
        ),
        th.Property(
            "shard_index",
            th.IntegerType(minimum=0),
            default=0,
            title="Shard Index",
            description="Which shard this run reads: 0 .. shard_count-1.",
        ),
    ).to_dict()


class TapFacebookPages(FastPathTap):
    """Facebook Pages tap: page insights, page metadata (posts and reels: see README)."""

    name = "tap-facebook-pages"
    package_name = "tap-facebook-pages"
    dynamic_catalog = True
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema = _config_schema()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sandbox: Any = None
        self.missing_permissions: list[str] | None = None
        self.redactor = REDACTOR
        install_redaction(self.redactor)
        type(self)._current = self
        STOP.reset()
        _ = self.report  # the run's clock starts here (after imports, before discovery)
        check_tap_inputs(type(self), kwargs, self.logger)  # one clear ConfigError, no traceback
        super().__init__(*args, **kwargs)
        self.install_fast_path()

    # -- shared objects ---------------------------------------------------------------------

    @functools.cached_property
    def settings(self) -> Settings:
        """Validated settings (raises ConfigError before any Graph call)."""
        return Settings.from_config(self.config, self.logger)

    @functools.cached_property
    def report(self) -> RunReport:
        """This run's report."""
        return RunReport()

    @functools.cached_property
    def graph(self) -> GraphClient:
        """The one Graph client of this run (starts the sandbox when ``sandbox`` is true)."""
        config = self.config
        base_url = config.get("api_base_url") or "https://graph.facebook.com"
        token = config.get("access_token")
        self.redactor.add(token, config.get("app_secret"))
        if config.get("sandbox"):
            from tap_facebook_pages.sandbox import SandboxServer  # noqa: PLC0415

            self._sandbox = SandboxServer(app_secret=config.get("app_secret")).start()
            base_url = self._sandbox.url
            token = token or SANDBOX_TOKEN
            self.logger.info("Sandbox mode: reading fake data from %s", base_url)
        if not token:
            msg = "access_token is required (or set sandbox: true to try the tap on fake data)"
            raise UserError(msg)
        return GraphClient(
            base_url=base_url,
            api_version=config.get("api_version") or "v25.0",
            access_token=token,
            app_secret=config.get("app_secret"),
            max_retries=int(config.get("max_retries") or 5),
            backoff_base_seconds=float(config.get("backoff_base_seconds", 1.0)),
            max_throttle_wait_seconds=float(config.get("max_throttle_wait_seconds", 900)),
            timeout_seconds=float(config.get("request_timeout_seconds") or 60),
            redactor=self.redactor,
            logger=self.logger.getChild("graph"),
        )

    @functools.cached_property
    def executor(self) -> BatchExecutor:
        """Concurrent, batched Graph calls for the prefetcher."""
        return BatchExecutor(
            self.graph,
            max_concurrency=int(self.config.get("max_concurrency") or 4),
            use_batch=bool(self.config.get("batch_api", True)),
        )

    @functools.cached_property
    def prefetcher(self) -> Prefetcher | None:
        """Prefetches every selected page's insights requests (None when sequential)."""
        concurrency = int(self.config.get("max_concurrency") or 4)
        batching = bool(self.config.get("batch_api", True))
        if concurrency <= 1 and not batching:
            return None

        def plan() -> Iterator[PlanItem]:
            for stream in self.streams.values():
                if isinstance(stream, PageInsightsStream) and stream.selected:
                    yield from stream.plan_items()

        # Batching: at least two full batches ahead, at most one per allowed in-flight request,
        # and no more than PREFETCH_BUDGET_VALUES estimated values held (source/prefetch.py).
        batch = MAX_BATCH if batching else 1
        return Prefetcher(
            self.executor,
            plan,
            batch=batch,
            min_ahead=2 * batch if batching else 2 * concurrency,
            max_ahead=max(2, concurrency) * batch if batching else 2 * concurrency,
            budget=PREFETCH_BUDGET_VALUES,
            weight=_estimated_values,
        )

    @functools.cached_property
    def discovery(self) -> Discovery:
        """Pages readable with the token (one ``/me/accounts`` call, paginated)."""
        _ = self.settings  # validate config before the first call
        try:
            # /me/permissions does not depend on the listing: one round trip saved.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-perm") as pool:
                permissions = pool.submit(missing_permissions, self.graph, self.logger)
                found = discover_pages(self.graph, self.settings.page_ids, self.logger)
                if not found.pages and not found.problems:
                    msg = (
                        "the token can read no Facebook page (/me/accounts listed none): give "
                        "the token's user a role with the ANALYZE task on a page, and grant "
                        "pages_show_list (business-linked pages also need business_management, "
                        "or name them in page_ids)"
                    )
                    raise DiscoveryFailedError(msg)
                found.pages = [p for p in found.pages if self.in_shard(p.id)]
                for page_id, problem in found.problems:
                    if self.in_shard(page_id):  # named in page_ids, and unreadable: exit 1
                        self.report.fail(
                            Failure(page_id=page_id, stream="pages", detail=problem.describe())
                        )
                self.missing_permissions = permissions.result()
        except AuthError as error:
            raise AuthFailedError(self._auth_message(error)) from None
        except GraphError as error:
            msg = (
                f"Could not list the token's pages: {error.describe()}. Check access_token, "
                "app_secret (appsecret_proof), api_version and api_base_url."
            )
            raise DiscoveryFailedError(msg) from None
        if self.missing_permissions:
            self.logger.warning(
                "missing_required_permissions: %s. Without them Facebook answers with empty "
                "data instead of an error; re-authorize the app and grant them.",
                ", ".join(self.missing_permissions),
            )
        return found

    def in_shard(self, page_id: str) -> bool:
        """True when ``page_id`` belongs to this run's shard (stable hash of the id)."""
        count = int(self.config.get("shard_count") or 1)
        index = int(self.config.get("shard_index") or 0)
        if count <= 1:
            return True
        return shard_of(page_id, count) == index

    @functools.cached_property
    def content(self) -> ContentFetcher:
        """This run's posts/reels listings, shared by each pair of streams (source/content.py)."""
        return ContentFetcher(self)

    @property
    def pages(self) -> list[Page]:
        """Every page of this run."""
        return self.discovery.pages

    @staticmethod
    def _auth_message(error: AuthError) -> str:
        return f"The access token was rejected by Facebook: {error.describe()}. {RENEWAL_HELP}"

    # -- discovery --------------------------------------------------------------------------

    def discover_streams(self) -> list[Stream]:
        """``pages`` plus one ``page_insights_<page_id>`` stream per page the token can analyse."""
        streams: list[Stream] = [PagesStream(self)]
        for page in self.pages:
            if not page.can_analyze:
                self.logger.warning(
                    "Page %s (%s): the token's user lacks the ANALYZE task; no insights stream.",
                    page.id,
                    page.name,
                )
                self.report.skip(page.id, "missing ANALYZE task")
                continue
            streams.append(PageInsightsStream(self, page))
        streams += [PostsStream(self), PostInsightsStream(self), ReelsStream(self)]
        streams.append(ReelInsightsStream(self))
        return streams

    # -- connection test (--test) ------------------------------------------------------------

    def connection_report(self) -> list[str]:
        """What ``--test`` prints: token validity, permissions and each page's ANALYZE task."""
        lines = [f"token accepted; {len(self.pages)} page(s) readable"]
        if self.missing_permissions is None:
            lines.append("permissions: unknown (page token, or /me/permissions not readable)")
        elif self.missing_permissions:
            lines.append(f"missing_required_permissions: {', '.join(self.missing_permissions)}")
        else:
            lines.append("permissions: all required granted")
        for page in self.pages:
            status = "ANALYZE ok" if page.can_analyze else "MISSING the ANALYZE task"
            if page.tasks is None:
                status = "ANALYZE unknown (not listed in /me/accounts)"
            lines.append(f"page {page.id} ({page.name}): {status}")
        for page_id, error in self.discovery.problems:
            lines.append(f"page {page_id}: NOT READABLE: {error.describe()}")
        return lines

    @classmethod
    def cb_test(cls, ctx: Any, param: Any, value: str) -> None:
        """``--test``: print the connection report, then the SDK's one-record dry run."""
        if value and value != "disabled":
            config = ctx.params.get("config")
            tap = cls(
                config=config.config if config else None,
                parse_env_config=bool(config and config.parse_env),
                validate_config=True,
            )
            for line in tap.connection_report():
                tap.logger.info("connection test: %s", line)
        super().cb_test(ctx, param, value)

    # -- end of run -------------------------------------------------------------------------

    _current: TapFacebookPages | None = None

    def finish_run(self) -> None:
        """Log the run summary and stop the sandbox; raise when any unit of work failed.

        Called by the CLI after ``sync_all`` (which the SDK marks final); tests and other
        programmatic callers call it themselves.
        """
        summary = self.report.summary()
        vanished = self._vanished_pages() if "discovery" in self.__dict__ else []
        missing_streams = self._missing_catalog_streams()
        if missing_streams:
            summary["missing_streams"] = missing_streams
        if vanished:
            summary["vanished_pages"] = vanished
        if "graph" in self.__dict__:
            summary["graph_calls"] = self.graph.total_calls()
            summary["http_round_trips"] = self.graph.round_trips
        self.logger.info("run summary %s", json.dumps(summary))
        if "executor" in self.__dict__:
            self.executor.close()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        failures = self.report.failures
        if failures:
            lines = "; ".join(f.line() for f in failures)
            msg = f"{len(failures)} unit(s) of work failed, the rest was loaded: {lines}"
            raise RunFailedError(msg)

    def _missing_catalog_streams(self) -> list[str]:
        """Streams the input catalog selects that this run did not discover, each warned."""
        catalog = self._input_catalog
        if catalog is None or "discovery" not in self.__dict__:
            return []
        known = set(self.streams)
        missing = []
        for entry in catalog.streams:
            name = entry.tap_stream_id
            if name in known or not entry.metadata.root.selected:
                continue
            self.logger.warning(
                "The catalog selects stream %s, which this run did not discover (a page the "
                "token no longer lists or can ANALYZE?): nothing was read for it. Rediscover "
                "the catalog, or check the token user's role on the page.",
                name,
            )
            missing.append(name)
        return missing

    def _vanished_pages(self) -> list[str]:
        """Pages this run's state has insights bookmarks for that discovery no longer returns
        (the usual form of a revoked page), each named in a WARNING."""
        current = {page.id for page in self.pages}
        bookmarks = self.state.get("bookmarks") if isinstance(self.state, dict) else None
        vanished = []
        for name, entry in sorted((bookmarks or {}).items()):
            page_id = name.removeprefix("page_insights_")
            if page_id == name or page_id in current or not self.in_shard(page_id):
                continue
            if self.settings.page_ids and page_id not in self.settings.page_ids:
                continue  # left out of page_ids on purpose
            rows = entry.get("last_nonzero_rows") if isinstance(entry, dict) else None
            self.logger.warning(
                "Page %s has a bookmark in state (last run with rows: %s rows) but the token "
                "no longer lists it: its data stopped. Check the token user's role on the page "
                "(or remove it from state if it was given up on purpose).",
                page_id,
                rows if rows is not None else "unknown",
            )
            vanished.append(page_id)
        return vanished

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:
        """The SDK's sync entry point, plus the end-of-run verdict and one-line auth errors."""
        cls._current = None
        try:
            super().invoke(**kwargs)
        except AuthError as error:
            raise AuthFailedError(cls._auth_message(error)) from None
        except Stopped:  # SIGTERM/SIGINT, or the target stopped reading: summary and clean-up
            if cls._current is not None:
                with contextlib.suppress(RunFailedError):  # failures were logged as they came
                    cls._current.finish_run()
            raise
        tap = cls._current
        if tap is not None:
            tap.finish_run()
        STOP.check()  # a signal after the last window still ends the run as stopped
