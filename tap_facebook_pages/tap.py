"""tap-facebook-pages: settings, discovery and the run's shared objects."""

from __future__ import annotations

import functools
import json
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.graph.errors import AuthError, GraphError
from tap_facebook_pages.graph.redact import REDACTOR, install_redaction
from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.pages import Discovery, Page, discover_pages, missing_permissions
from tap_facebook_pages.run import RunReport
from tap_facebook_pages.settings import Settings, UserError
from tap_facebook_pages.streams.page_insights import PageInsightsStream
from tap_facebook_pages.streams.pages import PagesStream

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
                "Restrict extraction to these pages. Default: every page the token can ANALYZE. "
                "Pages missing from /me/accounts (business-linked) are looked up directly."
            ),
        ),
        th.Property(
            "start_date",
            th.DateType,
            title="Start Date",
            description="First day to extract when there is no bookmark. Default: 90 days ago.",
        ),
        th.Property(
            "end_date",
            th.DateType,
            title="End Date",
            description="Last day to extract (inclusive). Default: the last complete Pacific day.",
        ),
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0),
            default=3,
            title="Lookback Days",
            description="Re-read this many days before the bookmark on every run, for late data.",
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
                "replaced by their live successor or skipped; see catalog/METRICS.md."
            ),
        ),
        th.Property(
            "periods",
            th.ArrayType(th.StringType(allowed_values=["day", "week", "days_28"])),
            default=["day"],
            title="Periods",
            description="Periods to request: day, week and/or days_28.",
        ),
        th.Property(
            "breakdowns",
            th.ArrayType(th.StringType(allowed_values=["is_from_ads", "is_from_followers"])),
            default=[],
            title="Breakdowns",
            description=(
                "Also request these breakdowns for the metrics that support them (e.g. "
                "page_media_view): extra rows with breakdown_key is_from_ads=0 / is_from_ads=1."
            ),
        ),
        th.Property(
            "api_version",
            th.StringType(nullable=False),
            default="v25.0",
            title="API Version",
            description="Graph API version used in the URL path.",
        ),
        th.Property(
            "api_base_url",
            th.StringType(nullable=False),
            default="https://graph.facebook.com",
            title="API Base URL",
            description="Graph API base URL (point it at a sandbox for tests and pipelines).",
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
            th.NumberType,
            default=1.0,
            title="Backoff Base Seconds",
            description="Exponential backoff base: waits are uniform(0, base * 2**attempt).",
        ),
        th.Property(
            "max_throttle_wait_seconds",
            th.NumberType,
            default=900,
            title="Max Throttle Wait Seconds",
            description="Longest single wait after a rate-limit error or at high usage.",
        ),
    ).to_dict()


class TapFacebookPages(Tap):
    """Facebook Pages tap: page insights, page metadata (posts and reels: see README)."""

    name = "tap-facebook-pages"
    package_name = "tap-facebook-pages"
    dynamic_catalog = True
    config_jsonschema = _config_schema()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sandbox: Any = None
        self.missing_permissions: list[str] | None = None
        self.redactor = REDACTOR
        install_redaction(self.redactor)
        type(self)._current = self
        super().__init__(*args, **kwargs)

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
            redactor=self.redactor,
            logger=self.logger.getChild("graph"),
        )

    @functools.cached_property
    def discovery(self) -> Discovery:
        """Pages readable with the token (one ``/me/accounts`` call, paginated)."""
        _ = self.settings  # validate config before the first call
        try:
            found = discover_pages(self.graph, self.settings.page_ids, self.logger)
            self.missing_permissions = missing_permissions(self.graph, self.logger)
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
        self.logger.info("run summary %s", json.dumps(self.report.summary()))
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        failures = self.report.failures
        if failures:
            lines = "; ".join(f.line() for f in failures)
            msg = f"{len(failures)} unit(s) of work failed, the rest was loaded: {lines}"
            raise RunFailedError(msg)

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:
        """The SDK's sync entry point, plus the end-of-run verdict and one-line auth errors."""
        cls._current = None
        try:
            super().invoke(**kwargs)
        except AuthError as error:
            raise AuthFailedError(cls._auth_message(error)) from None
        tap = cls._current
        if tap is not None:
            tap.finish_run()
