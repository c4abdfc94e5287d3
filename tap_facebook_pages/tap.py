"""tap-facebook-pages: the SDK's Tap: config schema, stream discovery, the connection test and
the end-of-run verdict. The run's shared objects live in
:class:`~tap_facebook_pages.runtime.Runtime`.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any, cast

from singer_sdk.mapper import PluginMapper
from singer_sdk.singerlib import Catalog
from singer_sdk.singerlib.json import deserialize_json
from singer_sdk.streams.core import Stream
from typing_extensions import override

from tap_facebook_pages import early as early_start
from tap_facebook_pages.catalog_file import parse_catalog, read_catalog
from tap_facebook_pages.config import SILENT, Settings, UserError, config_schema
from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.graph.errors import AuthError
from tap_facebook_pages.graph.redact import REDACTOR, install_redaction
from tap_facebook_pages.report import RunReport
from tap_facebook_pages.runtime import (
    AuthFailedError,
    DiscoveryFailedError,
    RunFailedError,
    Runtime,
    auth_message,
    shard_of,
)
from tap_facebook_pages.sdk_fastpath import FastPathTap
from tap_facebook_pages.source import drift, permissions
from tap_facebook_pages.source.discovery import PAGE_FIELDS, Discovery, Page
from tap_facebook_pages.source.prefetch import PlanItem
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

__all__ = [
    "AuthFailedError",
    "DiscoveryFailedError",
    "RunFailedError",
    "TapFacebookPages",
    "shard_of",
]


class TapFacebookPages(FastPathTap):
    # The --about description: one line, as the SDK prints the class docstring verbatim.
    __doc__ = (
        "Singer tap for Facebook Pages (Meta Graph API): page insights, pages, posts, post "
        "insights, reels and reel insights, incremental and ready for Meltano. With `sandbox: "
        "true` it reads a built-in offline Graph API (fake data, no token)."
    )

    name = "tap-facebook-pages"
    package_name = "tap-facebook-pages"
    dynamic_catalog = True
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema = config_schema()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.redactor = REDACTOR
        install_redaction(self.redactor)
        type(self)._current = self
        STOP.reset()
        self.report = RunReport()  # the run's clock starts here (after imports, before discovery)
        self._state_loaded = False
        self._permissions_checked = False
        check_tap_inputs(type(self), kwargs, self.logger)  # one clear ConfigError, no traceback
        catalog = kwargs.get("catalog")
        text, type(self)._catalog_text = type(self)._catalog_text, None
        if catalog is None and text is not None:
            kwargs["catalog"] = self._compact_catalog(text)
            del text  # megabytes for a fleet: not kept through the constructor
        elif isinstance(catalog, (str, PurePath)):
            with contextlib.suppress(OSError, ValueError):
                kwargs["catalog"] = read_catalog(catalog)
        super().__init__(*args, **kwargs)
        self.install_fast_path()

    # The --catalog file's text, handed from invoke() to the constructor it calls.
    _catalog_text: str | bytes | None = None

    @staticmethod
    def _compact_catalog(text: str | bytes) -> Catalog | dict[str, Any]:
        """The --catalog file with one Schema and one set of property metadata objects for a
        fleet's equal page_insights_* entries (catalog_file.py), about 12 KiB a page less than
        the SDK's parse; a text it cannot read goes to the SDK as before."""
        try:
            return parse_catalog(text)
        except ValueError:
            return cast("dict[str, Any]", deserialize_json(text))

    @override
    def setup_mapper(self) -> None:
        """The SDK's stream maps, with a deselected stream registered under its full schema.

        The SDK registers every catalog stream with its *selected* schema; a deselected stream's
        is empty, so a map whose glob matches it (the Meltano default
        ``page_insights_*: {__alias__: page_insights}`` in a job selecting only posts) fails
        validation on its key properties. A deselected stream emits nothing in a sync; the
        connection test (``--test``) selects every stream and reads it whole.
        """
        self.mapper = PluginMapper(plugin_config=dict(self.config), logger=self.logger)
        for entry in self.catalog.values():
            if self.selection_mask(entry.metadata).get((), True):
                self.register_selected(self.mapper, entry)  # = register_raw_streams_from_catalog
            else:
                self.mapper.register_raw_stream_schema(
                    entry.stream or entry.tap_stream_id,
                    entry.schema.to_dict(),
                    entry.key_properties,
                )

    @functools.cached_property
    def runtime(self) -> Runtime:
        """The run's shared objects (built once, handed to every stream); the Runtime whose
        discovery the CLI started before importing the SDK when its settings are this tap's
        (early.py)."""
        early = early_start.adopt(self._serves)
        if early is not None:
            runtime = early.runtime
            runtime.config = self.config
            # One report: the early one has the discovery's failures and the run_id of its
            # lines; the run's clock stays the tap's (after imports).
            runtime.report.started = self.report.started
            self.report = runtime.report
            runtime.logger = self.logger
            runtime.plan_source = self._prefetch_plan
            runtime.stream_lookup = lambda name: self.streams.get(name)  # noqa: PLW0108
            return runtime
        runtime = Runtime(
            self.config,
            logger=self.logger,
            redactor=self.redactor,
            report=self.report,
            plan_source=self._prefetch_plan,
            stream_lookup=lambda name: self.streams.get(name),  # noqa: PLW0108 - lazily
        )
        runtime.all_shards = type(self).discovering
        return runtime

    def _serves(self, early: Runtime) -> bool:
        """True when a Runtime built from the config files before the SDK was imported has
        this tap's settings (the SDK adds the schema's defaults to the config it validates)."""
        if type(self).discovering:
            return False
        try:
            settings = Settings.from_config(self.config, SILENT)
        except UserError:
            return False  # the tap's own Runtime reports it
        return settings == early.settings

    # True while ``--discover`` runs: the catalog lists every shard's pages, no index needed.
    discovering = False

    @classmethod
    @override
    def cb_discover(cls, ctx: Any, param: Any, value: bool) -> None:
        """``--discover``, with every shard's pages (see ``Runtime.all_shards``)."""
        cls.discovering = bool(value)
        try:
            super().cb_discover(ctx, param, value)
        finally:
            cls.discovering = False

    @override
    def run_discovery(self) -> str:
        """``--discover``: the catalog of every shard's pages (see ``Runtime.all_shards``)."""
        runtime = self.runtime
        if "discovery" not in runtime.__dict__:
            runtime.all_shards = True
        return super().run_discovery()

    def _prefetch_plan(self) -> Iterator[PlanItem]:
        for stream in self.streams.values():
            if isinstance(stream, PageInsightsStream) and stream.selected:
                yield from stream.plan_items()

    # The run's shared objects, for callers of the tap (CLI, tests, benchmark).

    @property
    def settings(self) -> Settings:
        """Validated settings (raises ConfigError before any Graph call)."""
        return self.runtime.settings

    @property
    def graph(self) -> GraphClient:
        """The one Graph client of this run."""
        return self.runtime.graph

    @property
    def discovery(self) -> Discovery:
        """Pages readable with the token."""
        return self.runtime.discovery

    @property
    def pages(self) -> list[Page]:
        """Every page of this run."""
        return self.runtime.pages

    # -- permission regressions ---------------------------------------------------------------

    @override
    def load_state(self, state: dict[str, Any]) -> None:
        """The SDK's state loading, then the permission comparison once discovery is done."""
        super().load_state(state)
        self._state_loaded = True
        self._check_permissions()

    def _check_permissions(self) -> None:
        """Once per run, after both the input state and discovery: compare the scopes and page
        tasks with the previous run's (``bookmarks.pages.permissions``), warn each regression and
        remember this run's values in the state (source/permissions.py); the same for the page
        fields each page answered (``bookmarks.pages.page_fields``, source/drift.py)."""
        runtime = self.__dict__.get("runtime")
        if (
            self._permissions_checked
            or not self._state_loaded
            or runtime is None
            or "discovery" not in runtime.__dict__
        ):
            return
        self._permissions_checked = True
        bookmarks = self.state.setdefault("bookmarks", {})
        entry = bookmarks.setdefault(permissions.STATE_STREAM, {})
        memory, regressions = permissions.compare(
            entry.get(permissions.STATE_KEY),
            scopes=runtime.granted_permissions,
            page_tasks={page.id: page.tasks for page in runtime.pages},
        )
        entry[permissions.STATE_KEY] = memory
        for regression in regressions:
            self.report.permission_regression(
                self.logger,
                what=regression.what,
                lost=list(regression.lost),
                page_id=regression.page_id,
            )
        fields_memory, changes = drift.page_fields(
            entry.get(drift.PAGE_FIELDS_STATE_KEY),
            {page.id: page.answered for page in runtime.pages},
            schema_fields=PAGE_FIELDS,
        )
        entry[drift.PAGE_FIELDS_STATE_KEY] = fields_memory
        for (kind, field_name), page_ids in changes.items():
            self.report.page_field_drift(
                self.logger, field=field_name, kind=kind, page_ids=page_ids
            )

    # -- discovery --------------------------------------------------------------------------

    def discover_streams(self) -> list[Stream]:
        """``pages`` plus one ``page_insights_<page_id>`` stream per page the token can analyse."""
        runtime = self.runtime
        streams: list[Stream] = [PagesStream(self, runtime)]
        for page in self.pages:
            if not page.can_analyze:
                self.logger.warning(
                    "Page %s (%s): the token's user lacks the ANALYZE task; no insights stream.",
                    page.id,
                    page.name,
                )
                self.report.skip(page.id, "missing ANALYZE task")
                continue
            streams.append(PageInsightsStream(self, runtime, page))
        self._check_permissions()
        streams += [
            PostsStream(self, runtime),
            PostInsightsStream(self, runtime),
            ReelsStream(self, runtime),
            ReelInsightsStream(self, runtime),
        ]
        return streams

    # -- connection test (--test) ------------------------------------------------------------

    def connection_report(self) -> list[str]:
        """What ``--test`` prints: token validity, permissions and each page's ANALYZE task."""
        lines = [f"token accepted; {len(self.pages)} page(s) readable"]
        missing = self.runtime.missing_permissions
        if missing is None:
            lines.append("permissions: unknown (page token, or /me/permissions not readable)")
        elif missing:
            lines.append(f"missing_required_permissions: {', '.join(missing)}")
        else:
            lines.append("permissions: all required granted")
        lines.append(self._token_line())
        for page in self.pages:
            status = "ANALYZE ok" if page.can_analyze else "MISSING the ANALYZE task"
            if page.tasks is None:
                status = "ANALYZE unknown (not listed in /me/accounts)"
            lines.append(f"page {page.id} ({page.name}): {status}")
        for page_id, error in self.discovery.problems:
            lines.append(f"page {page_id}: NOT READABLE: {error.describe()}")
        return lines

    def _token_line(self) -> str:
        """The connection report's line on the token's lifetime (from /debug_token)."""
        info = self.runtime.token_info
        if info is None:
            return "token expiry: unknown (/debug_token not readable)"
        expires = info.expires or "unknown"
        data_access = info.data_access_expires or "unknown"
        return f"token expires: {expires}; data access expires: {data_access}"

    @override
    @classmethod
    def cb_test(cls, ctx: Any, param: Any, value: str) -> None:
        """``--test``: the connection report, then the SDK's one-record dry run (or, with
        ``--test=schema``, the schemas), from one tap: discovery and /debug_token run once."""
        if not value or value == "disabled":
            return
        config = ctx.params.get("config")
        tap = cls(
            config=config.config if config else None,
            parse_env_config=bool(config and config.parse_env),
            validate_config=True,
        )
        for line in tap.connection_report():
            tap.logger.info("connection test: %s", line)
        if value == "schema":
            tap.write_schemas()
        else:
            tap.run_connection_test()
        ctx.exit()

    # -- end of run -------------------------------------------------------------------------

    _current: TapFacebookPages | None = None

    def finish_run(self) -> None:
        """Log the run summary and stop the sandbox; raise when any unit of work failed.

        Called by the CLI after ``sync_all`` (which the SDK marks final); tests and other
        programmatic callers call it themselves.
        """
        self.flush_state()  # a STATE the pacing held back goes out before anything else
        summary = self.report.summary()
        started = "runtime" in self.__dict__
        runtime = self.runtime if started else None
        vanished = self._vanished_pages() if runtime and "discovery" in runtime.__dict__ else []
        missing_streams = self._missing_catalog_streams()
        if missing_streams:
            summary["missing_streams"] = missing_streams
        if vanished:
            summary["vanished_pages"] = vanished
        if runtime is not None and "discovery" in runtime.__dict__:
            info = runtime.token_info  # None: /debug_token could not be read
            summary["token_expires_at"] = info.expires if info else None
            summary["token_data_access_expires_at"] = info.data_access_expires if info else None
        if runtime is not None and "graph" in runtime.__dict__:
            summary["graph_calls"] = runtime.graph.total_calls()
            summary["http_round_trips"] = runtime.graph.round_trips
        self.logger.info("run summary %s", json.dumps(summary))
        if runtime is not None:
            runtime.close()
        failures = self.report.failures
        if failures:
            lines = "; ".join(f.line() for f in failures)
            msg = f"{len(failures)} unit(s) of work failed, the rest was loaded: {lines}"
            raise RunFailedError(msg)

    def _missing_catalog_streams(self) -> list[str]:
        """Streams the input catalog selects that this run did not discover, each warned.

        A page stream of another shard is not missing: a catalog discovered with one shard
        (``shard_count`` 1) lists every page, and each shard reads its own."""
        catalog = self._input_catalog
        runtime = self.__dict__.get("runtime")
        if catalog is None or runtime is None or "discovery" not in runtime.__dict__:
            return []
        known = set(self.streams)
        missing = []
        for entry in catalog.streams:
            name = entry.tap_stream_id
            if name in known or not entry.metadata.root.selected:
                continue
            page_id = name.removeprefix("page_insights_")
            if page_id != name and not runtime.in_shard(page_id):
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
            if page_id == name or page_id in current or not self.runtime.in_shard(page_id):
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
        catalog = kwargs.pop("catalog", None)
        # The SDK would parse the --catalog file into a dict for the constructor; the
        # constructor reads its text instead (_compact_catalog).
        cls._catalog_text = None if catalog is None else catalog.read()
        try:
            super().invoke(catalog=None, **kwargs)
        except AuthError as error:
            raise AuthFailedError(auth_message(error)) from None
        except Stopped:  # SIGTERM/SIGINT, or the target stopped reading: summary and clean-up
            if cls._current is not None:
                with contextlib.suppress(RunFailedError):  # failures were logged as they came
                    cls._current.finish_run()
            raise
        tap = cls._current
        if tap is not None:
            tap.finish_run()
        STOP.check()  # a signal after the last window still ends the run as stopped
