"""The first Graph calls of a sync leave while singer-sdk is still being imported.

A sync's first requests (the page listing, ``/me/permissions``, ``/debug_token``) depend on
the config alone, and importing the SDK, jsonschema and the streams takes about a quarter of a
second before the tap could send them. For a plain sync (``--config FILE... [--catalog FILE]
[--state FILE]``), :func:`begin` reads the config files, builds the run's
:class:`~tap_facebook_pages.runtime.Runtime` and starts its discovery on a thread, before
anything imports the SDK. The tap adopts that Runtime (:func:`adopt`) when its own settings
are equal (the SDK adds the schema's defaults to the config it validates). The discovery's log
lines are held and written where the tap takes the discovery, which is where a tap without the
head start would have written them; the SDK's own start-up lines pass at once. The calls, their
retries, errors and results are those a tap-built Runtime would have made: only their start
moves (tests/test_early_start.py compares both runs call for call and line for line).

Nothing starts early for any other command line (``--discover``, ``--test``, ``--about``,
``--config ENV``, …), for the sandbox, or for a config that cannot be read or that the settings
refuse: the run then goes exactly as before. A config the full check (``validation.py``)
refuses after the calls started still ends in the same one line; their answers are dropped.
"""

from __future__ import annotations

import decimal
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from tap_facebook_pages.config import SILENT, Settings, UserError
from tap_facebook_pages.graph.redact import REDACTOR
from tap_facebook_pages.report import RunReport
from tap_facebook_pages.runtime import Runtime

LOGGER_NAME = "tap-facebook-pages"  # the tap's logger (the SDK names it after the plugin)
# Options of a plain sync, each followed by one value.
_SYNC_OPTIONS = ("--config", "--catalog", "--state")


class _HeldLines(logging.Handler):
    """On the tap's logger while the early calls run: the records of the main thread (the
    SDK's start-up lines) go on at once, as the logger's parents would write them; those of the
    early calls' threads are held, to be written where the tap takes the discovery."""

    def __init__(self, real_level: int) -> None:
        super().__init__(logging.DEBUG)
        self.real_level = real_level  # the tap logger's own level (NOTSET: its parents')
        self.records: list[logging.LogRecord] = []
        self._main = threading.main_thread().ident

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self._main:
            self.records.append(record)
            return
        source = logging.getLogger(record.name)
        level = source.level if source.name != LOGGER_NAME and source.level else self.real_level
        if record.levelno < (level or logging.getLogger().getEffectiveLevel()):
            return
        for handler in logging.getLogger().handlers:  # the tap logger's parent is the root
            if record.levelno >= handler.level:
                handler.handle(record)


class EarlyRun:
    """A Runtime whose discovery runs on a thread, and the log records it made so far."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self._logger = logging.getLogger(LOGGER_NAME)
        self._saved = (self._logger.level, self._logger.propagate)
        self._held = _HeldLines(self._logger.level)
        self._logger.addHandler(self._held)
        self._logger.propagate = False
        self._logger.setLevel(logging.DEBUG)  # held, then filtered by the level set by then
        self.runtime = Runtime(config, logger=self._logger, redactor=REDACTOR, report=RunReport())
        self._discovery: Future[Any] = Future()
        self._released = False
        self.runtime.early_discovery = self.take
        self._thread = threading.Thread(target=self._discover, name="graph-early", daemon=True)
        self._thread.start()

    def _discover(self) -> None:
        try:
            self._discovery.set_result(self.runtime.discover())
        except BaseException as error:  # noqa: BLE001 - re-raised where the tap takes it
            self._discovery.set_exception(error)

    def wait(self) -> None:
        """Until the discovery ended (answered or failed)."""
        self._thread.join()

    def take(self) -> Any:
        """The discovery (or its error, raised), its log lines written first: where a tap
        without the early start would have run it."""
        self.wait()
        self.release(replay=True)
        return self._discovery.result()

    def release(self, *, replay: bool) -> None:
        """Give the tap's logger back (after :meth:`wait`), and write (``replay``) or drop the
        held records; those below the level configured by then are dropped either way."""
        if self._released:
            return
        self._released = True
        logger = self._logger
        logger.removeHandler(self._held)
        logger.setLevel(self._saved[0])
        logger.propagate = self._saved[1]
        records, self._held.records = self._held.records, []
        for record in records if replay else ():
            source = logging.getLogger(record.name)
            if source.isEnabledFor(record.levelno):
                source.handle(record)


_current: EarlyRun | None = None
_lock = threading.Lock()


def _config_paths(argv: list[str]) -> list[str] | None:
    """The ``--config`` files of a plain sync's command line; None for anything else."""
    paths: list[str] = []
    args = iter(argv)
    for arg in args:
        name, equals, value = arg.partition("=")
        if name not in _SYNC_OPTIONS:
            return None
        if not equals:
            following = next(args, None)
            if following is None:
                return None
            value = following
        if name == "--config":
            if value == "ENV":
                return None
            paths.append(value)
    return paths or None


def _read_config(paths: list[str]) -> dict[str, Any] | None:
    """The files merged as the SDK merges them (later wins), numbers with a fraction read as
    ``Decimal`` as the SDK reads them: the tap adopts the early run only for an equal config."""
    config: dict[str, Any] = {}
    for path in paths:
        try:
            with open(path, "rb") as file:
                data = json.load(file, parse_float=decimal.Decimal)
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        config.update(data)
    return config


def begin(argv: list[str]) -> EarlyRun | None:
    """Start a plain sync's discovery now (see the module docstring); None when nothing
    started."""
    global _current  # noqa: PLW0603 - one early run per process
    paths = _config_paths(argv)
    config = _read_config(paths) if paths else None
    if config is None or config.get("sandbox") or not config.get("access_token"):
        return None
    try:
        Settings.from_config(config, SILENT)
    except (UserError, ValueError, TypeError, AttributeError, KeyError):
        return None  # the regular path reports it, with the full check's wording
    with _lock:
        if _current is None:
            _current = EarlyRun(config)
        return _current


def adopt(serves: Callable[[Runtime], bool]) -> EarlyRun | None:
    """The early run, once its discovery ended, when ``serves(its runtime)``; None otherwise
    (an early run that cannot serve is waited for and dropped, with its log lines)."""
    global _current
    with _lock:
        early, _current = _current, None
    if early is None:
        return None
    early.wait()
    if serves(early.runtime):
        return early  # its lines are written when the tap takes the discovery
    early.release(replay=False)
    return None
