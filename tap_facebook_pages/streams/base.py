"""Shared stream plumbing: access to the tap's Graph client, settings and run report (the
SDK-private parts live in ``sdk_fastpath.py``)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import MaxRecordsLimitException

from tap_facebook_pages.config import UserError
from tap_facebook_pages.graph.errors import AuthError
from tap_facebook_pages.sdk_fastpath import FastPathStream
from tap_facebook_pages.stopping import Stopped

if TYPE_CHECKING:
    from tap_facebook_pages.config import Settings
    from tap_facebook_pages.graph.client import GraphClient
    from tap_facebook_pages.report import RunReport
    from tap_facebook_pages.runtime import Runtime


class _ExpectedFailureFilter(logging.Filter):
    """Drops the SDK's "An unhandled error occurred while syncing" line when the error in flight
    is an expected condition (a rejected token, a user error, a stop on SIGTERM/SIGINT, a
    target that stopped reading) that the CLI reports as one clear line of its own. The SDK
    logs that line inside its ``except`` block, so the exception is still the one being
    handled when the filter runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("An unhandled error occurred while syncing"):
            return True
        error = sys.exc_info()[1]
        if isinstance(error, (AuthError, UserError, Stopped)):
            return False
        # The record limit of ``--test`` (a dry run of one record per stream) ends each stream
        # with the SDK's own abort, paused or (full-table streams) "failed": not an error.
        return not (
            isinstance(error, MaxRecordsLimitException)
            or isinstance(error.__cause__ if error else None, MaxRecordsLimitException)
        )


_EXPECTED_FAILURES = _ExpectedFailureFilter()


class GraphStream(FastPathStream):
    """A stream whose records come from the tap's Graph client (streams never do HTTP)."""

    def __init__(self, tap: Any, runtime: Runtime, **kwargs: Any) -> None:
        self.runtime = runtime
        super().__init__(tap, **kwargs)
        if _EXPECTED_FAILURES not in self.logger.filters:
            self.logger.addFilter(_EXPECTED_FAILURES)

    @property
    def graph(self) -> GraphClient:
        """The tap's one Graph client."""
        return self.runtime.graph

    @property
    def settings(self) -> Settings:
        """Resolved settings."""
        return self.runtime.settings

    @property
    def report(self) -> RunReport:
        """Where failures and per-page statistics of this run are collected."""
        return self.runtime.report

    def get_replication_key_signpost(self, context: Any = None) -> None:
        """No signpost: windows never reach past the last complete Pacific day."""
        return
