"""The composition root of one run: built from the config, it owns the Graph client, the batch
executor, the prefetcher, discovery, the posts/reels fetcher and the run report. Streams receive
it in their constructor (they never reach back through the tap); the tap builds it once.

It imports neither ``tap.py`` nor ``streams/``: what it needs from the streams (the prefetch
plan, a sibling stream by name) it is handed as callables.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tap_facebook_pages.config import Settings, UserError
from tap_facebook_pages.graph.batch import MAX_BATCH, BatchExecutor
from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.graph.errors import AuthError, GraphError
from tap_facebook_pages.graph.redact import Redactor
from tap_facebook_pages.report import Failure, RunReport
from tap_facebook_pages.source.content import ContentFetcher
from tap_facebook_pages.source.discovery import (
    Discovery,
    Page,
    discover_pages,
    granted_permissions,
    missing_of,
)
from tap_facebook_pages.source.prefetch import PlanItem, Prefetcher
from tap_facebook_pages.source.token import TokenInfo, fetch_token_info, log_token_info

SANDBOX_TOKEN = "sandbox-user-token"  # noqa: S105 - a fixed fake token the sandbox accepts
# The built-in sandbox's simulated quota: each call reads 0.1 % more usage (1,000 calls to 100 %),
# so a sandbox run of the probe (about 600 calls for the page level) is not throttled. The
# sandbox's own default (1 % a call) stays for the tests of pacing.
SANDBOX_USAGE_STEP = 0.1
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


def auth_message(error: AuthError) -> str:
    """The one line for a rejected token."""
    return f"The access token was rejected by Facebook: {error.describe()}. {RENEWAL_HELP}"


def shard_of(page_id: str, shard_count: int) -> int:
    """The shard of a page: a stable hash of its id (same on every machine and run)."""
    digest = hashlib.sha256(page_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shard_count


class Runtime:
    """The shared objects of one run (see the module docstring)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        logger: logging.Logger,
        redactor: Redactor,
        report: RunReport,
        plan_source: Callable[[], Iterable[PlanItem]] = lambda: (),
        stream_lookup: Callable[[str], Any] = lambda name: None,
    ) -> None:
        self.config = config
        self.logger = logger
        self.redactor = redactor
        self.report = report
        self.plan_source = plan_source
        self.stream_lookup = stream_lookup
        self.missing_permissions: list[str] | None = None
        self.granted_permissions: list[str] | None = None  # None: /me/permissions not readable
        self.token_info: TokenInfo | None = None  # None: /debug_token not read (yet, or at all)
        self._sandbox: Any = None
        # Takes the discovery started on a thread before the tap was built (early.py), or None.
        self.early_discovery: Callable[[], Discovery] | None = None
        # True for --discover: the catalog lists every shard's pages, so that one catalog (a
        # cached or fixed one) serves every shard; a sync reads only its own shard's pages.
        self.all_shards = False

    @functools.cached_property
    def settings(self) -> Settings:
        """Validated settings (raises ConfigError before any Graph call)."""
        return Settings.from_config(
            self.config, self.logger, shard_index_required=not self.all_shards
        )

    @functools.cached_property
    def graph(self) -> GraphClient:
        """The one Graph client of this run (starts the sandbox when ``sandbox`` is true)."""
        settings = self.settings
        base_url = settings.api_base_url
        token = settings.access_token
        self.redactor.add(token, settings.app_secret)
        if settings.sandbox:
            from tap_facebook_pages.sandbox import SandboxServer  # noqa: PLC0415

            self._sandbox = SandboxServer(
                app_secret=settings.app_secret, faults={"usage_step": SANDBOX_USAGE_STEP}
            ).start()
            base_url = self._sandbox.url
            token = token or SANDBOX_TOKEN
            self.logger.info("Sandbox mode: reading fake data from %s", base_url)
        if not token:
            msg = "access_token is required (or set sandbox: true to try the tap on fake data)"
            raise UserError(msg)
        self.redactor.add(self.app_token)
        return GraphClient(
            base_url=base_url,
            api_version=settings.api_version,
            access_token=token,
            app_secret=settings.app_secret,
            max_retries=settings.max_retries,
            backoff_base_seconds=settings.backoff_base_seconds,
            max_throttle_wait_seconds=settings.max_throttle_wait_seconds,
            timeout_seconds=settings.request_timeout_seconds,
            redactor=self.redactor,
            logger=self.logger.getChild("graph"),
        )

    @property
    def app_token(self) -> str | None:
        """``{app-id}|{app-secret}`` when both are set (for ``/debug_token``), else None."""
        settings = self.settings
        if settings.app_id and settings.app_secret:
            return f"{settings.app_id}|{settings.app_secret}"
        return None

    @functools.cached_property
    def executor(self) -> BatchExecutor:
        """Concurrent, batched Graph calls for the prefetcher."""
        return BatchExecutor(
            self.graph,
            max_concurrency=self.settings.max_concurrency,
            use_batch=self.settings.batch_api,
        )

    @functools.cached_property
    def prefetcher(self) -> Prefetcher | None:
        """Prefetches every selected page's insights requests (None when sequential)."""
        concurrency = self.settings.max_concurrency
        batching = self.settings.batch_api
        if concurrency <= 1 and not batching:
            return None

        plan = self.plan_source
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
        """Pages readable with the token (one ``/me/accounts`` call, paginated); its calls
        may have started before the tap was built (``early.py``)."""
        if self.early_discovery is not None:
            return self.early_discovery()
        return self.discover()

    def discover(self) -> Discovery:
        """List the pages, the granted permissions and the token's lifetime (see
        :attr:`discovery`, which keeps the result)."""
        _ = self.settings  # validate config before the first call
        try:
            # /me/permissions and /debug_token do not depend on the listing: no round trip
            # in sequence.
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="graph-perm") as pool:
                permissions = pool.submit(granted_permissions, self.graph, self.logger)
                token_info = pool.submit(
                    fetch_token_info, self.graph, app_token=self.app_token, logger=self.logger
                )
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
                self.granted_permissions = permissions.result()
                self.missing_permissions = missing_of(self.granted_permissions)
                self.token_info = token_info.result()
        except AuthError as error:
            raise AuthFailedError(auth_message(error)) from None
        except GraphError as error:
            msg = (
                f"Could not list the token's pages: {error.describe()}. Check access_token, "
                "app_secret (appsecret_proof), api_version and api_base_url."
            )
            raise DiscoveryFailedError(msg) from None
        if self.token_info is not None:
            log_token_info(
                self.token_info,
                warning_days=self.settings.token_expiry_warning_days,
                logger=self.logger,
            )
        if self.missing_permissions:
            self.logger.warning(
                "missing_required_permissions: %s. Without them Facebook answers with empty "
                "data instead of an error; re-authorize the app and grant them.",
                ", ".join(self.missing_permissions),
            )
        return found

    def in_shard(self, page_id: str) -> bool:
        """True when ``page_id`` belongs to this run's shard (stable hash of the id)."""
        count = self.settings.shard_count
        index = self.settings.shard_index
        if count <= 1 or self.all_shards:
            return True
        return shard_of(page_id, count) == index

    @functools.cached_property
    def content(self) -> ContentFetcher:
        """This run's posts/reels listings, shared by each pair of streams (source/content.py)."""
        return ContentFetcher(self, self.stream_lookup)

    @property
    def pages(self) -> list[Page]:
        """Every page of this run."""
        return self.discovery.pages

    def close(self) -> None:
        """Stop the executor and the sandbox (when they were started)."""
        if "executor" in self.__dict__:
            self.executor.close()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
