"""Every use of singer-sdk's private names, in one guarded module.

The tap leans on a few SDK internals for speed and for correct stops; each is an override
marked ``@override`` here, and nowhere else in the package touches a private SDK name:

- the **lean record path** (``_sync_records``): a window's rows encoded by msgspec and written
  with one call, instead of one message object, mapping and conformance walk per record; it
  also serves a pure alias map (``{"page_insights_*": {"__alias__": "page_insights"}}``),
  recognised by :func:`alias_only` from the SDK's private map internals;
- ``_generate_record_messages``: the SDK's per-record path minus the two walks that cannot
  change a record whose properties are all selected and built with their final types;
- the **window checkpoint** (``_write_state_message``, ``_increment_stream_state``): bookmarks
  of windowed streams move once per complete window (never per record, never back), STATE is
  written then, and a stop requested by SIGTERM/SIGINT takes effect right after it;
- the **encoded state writer** (``StateWriter``): a STATE encoded once and compared as bytes;
- the **termination handler** (``_handle_termination``): records the request, no I/O.

They were written for the SDK series ``SDK_SERIES``. With another version installed, or with
the ``fast_path`` setting false, every override falls back to the SDK's own behaviour (one INFO
line says so); only the stop-after-checkpoint check stays, because correctness needs it.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

# Packages of singer-sdk whose ``__init__`` imports far more than a tap's run needs (the
# target and sink classes, the REST and GraphQL streams with requests, the OpenAPI schema
# sources, joblib): together about a third of the tap's start-up.
SDK_PACKAGES = ("singer_sdk", "singer_sdk.streams")


def defer_sdk_package_init(names: tuple[str, ...] = SDK_PACKAGES) -> list[str]:
    """Import singer-sdk's submodules without running its packages' ``__init__`` up front.

    Each package in ``names`` not imported yet gets its module object without executing its
    ``__init__``: ``import singer_sdk.tap_base`` loads that module (and what it imports) only.
    The first time code asks the package for a name that is not a submodule (``from
    singer_sdk import Stream``), the real ``__init__`` runs in that same module object, so
    every name is there as usual. Nothing of the SDK's code changes; only when it runs.
    Answers the packages deferred (none when the SDK was imported already).
    """
    deferred = []
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            continue
        module = importlib.util.module_from_spec(spec)
        module.__getattr__ = _package_getattr(name, module, spec)  # type: ignore[method-assign]
        sys.modules[name] = module
        deferred.append(name)
    return deferred


def _package_getattr(name: str, module: Any, spec: Any) -> Any:
    def __getattr__(attr: str) -> Any:
        if not attr.startswith("__") and importlib.util.find_spec(f"{name}.{attr}") is not None:
            return importlib.import_module(f"{name}.{attr}")  # a submodule: that one only
        if module.__dict__.get("__getattr__") is __getattr__:
            del module.__dict__["__getattr__"]
            spec.loader.exec_module(module)  # the package's own __init__, now
        return getattr(module, attr)

    return __getattr__


defer_sdk_package_init()

import logging  # noqa: E402
from collections.abc import Generator, Iterator  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402

from singer_sdk.contrib.msgspec import encoder as _encoder  # noqa: E402
from singer_sdk.helpers._catalog import get_selected_schema  # noqa: E402
from singer_sdk.helpers._state import StateWriter  # noqa: E402
from singer_sdk.helpers._util import utc_now  # noqa: E402
from singer_sdk.helpers.conform import TypeConformanceLevel  # noqa: E402
from singer_sdk.mapper import (  # noqa: E402
    MAPPER_ALIAS_OPTION,
    CustomStreamMap,
    PluginMapper,
    SameRecordTransform,
    StreamMap,
)
from singer_sdk.singerlib import (  # noqa: E402
    Catalog,
    CatalogEntry,
    MetadataMapping,
    RecordMessage,
    Schema,
    SelectionMask,
)
from singer_sdk.streams.core import Stream  # noqa: E402
from singer_sdk.tap_base import Tap  # noqa: E402
from typing_extensions import override  # noqa: E402

from tap_facebook_pages.config import DEFAULTS  # noqa: E402
from tap_facebook_pages.stopping import STOP  # noqa: E402
from tap_facebook_pages.writer import flush_stdout, record_bytes_written  # noqa: E402

if TYPE_CHECKING:
    from singer_sdk.helpers.types import TapState  # (it imports requests)

SDK_SERIES = "0.54."

try:
    SDK_VERSION = version("singer-sdk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    SDK_VERSION = "unknown"
SUPPORTED = SDK_VERSION.startswith(SDK_SERIES)

_logger = logging.getLogger("tap-facebook-pages")


def fast_path_enabled(config: Any) -> bool:
    """True when the SDK is the series these overrides were written for and the ``fast_path``
    setting is not false."""
    value = (config or {}).get("fast_path")
    return SUPPORTED and bool(DEFAULTS["fast_path"] if value is None else value)


def _closure(function: Any) -> dict[str, Any]:
    """The variables a nested function closes over, by name (empty when there are none)."""
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None) or ()
    if code is None or len(code.co_freevars) != len(cells):
        return {}
    pairs = zip(code.co_freevars, cells, strict=True)
    try:
        return {name: cell.cell_contents for name, cell in pairs}
    except ValueError:  # an empty cell
        return {}


def alias_only(stream_map: StreamMap, stream_name: str) -> str | None:
    """The stream name ``stream_map`` writes records under, when it passes every record through
    unchanged; None when it may change, drop or filter a record.

    Two shapes qualify: the SDK's default ``SameRecordTransform`` under the stream's own name,
    and a ``CustomStreamMap`` whose definition held nothing but ``__alias__`` (say
    ``{"page_insights_*": {"__alias__": "page_insights"}}``, or ``{}``). singer-sdk 0.54 keeps
    no copy of a custom map's definition: ``__alias__`` is consumed when the map is registered
    and the rest is parsed into the closure of its transform function. So that closure is
    read: no property expression (``stream_map_parsed`` empty), unmapped properties kept
    (``include_by_default``), and the filter is the SDK's ``always_true`` (no ``__filter__``);
    key properties unchanged and no flattening. (The transformed schema cannot tell: the SDK
    copies the raw schema shallowly, so removing a property removes it from both.) Anything
    else, or a closure shaped differently, answers None and the stream takes the SDK's path.
    """
    if stream_map.flattening_enabled:
        return None
    if type(stream_map) is SameRecordTransform:
        return stream_map.stream_alias if stream_map.stream_alias == stream_name else None
    if type(stream_map) is not CustomStreamMap:
        return None
    if stream_map.transformed_key_properties != stream_map.raw_key_properties:
        return None
    transform = _closure(getattr(stream_map, "_transform_fn", None))
    keep_all = transform.get("include_by_default") is True
    no_expressions = transform.get("stream_map_parsed", None) == []
    no_filter = getattr(getattr(stream_map, "_filter_fn", None), "__name__", None) == "always_true"
    if keep_all and no_expressions and no_filter and isinstance(stream_map.stream_alias, str):
        return stream_map.stream_alias
    return None


# A STATE at least this large is written only once as many RECORD bytes followed the last one.
STATE_PACING_BYTES = 64 * 1024


class EncodedStateWriter(StateWriter):
    """The SDK's STATE deduplication, on the encoded state instead of deep copies, with large
    states paced.

    With one stream per page the state holds every page's bookmark, and every stream writes it:
    N pages give N STATE lines of O(N) bytes (at 1,000 pages, 343 MB of STATE for 27 MB of
    records, and its encoding was most of the per-page CPU). A state of ``STATE_PACING_BYTES``
    or more is therefore written only when at least its own size in RECORD bytes went out since
    the last STATE, so the STATE bytes never exceed the RECORD bytes by more than one state: a
    crash (not a signal) re-reads at most that much on resume. A state skipped is *pending*:
    :meth:`flush` writes it (the tap calls it at the end of the run and when it stops), and a
    stop request forces every write, so after SIGTERM the last STATE still covers every complete
    window. Smaller states (fleets up to about 200 pages) are written every time, as before.
    """

    def __init__(self, message_writer: Any) -> None:
        super().__init__(message_writer)
        self._last_encoded: bytes | None = None
        self._records_at_last = 0
        self._pending: TapState | None = None

    @override
    def write_state(self, state: TapState) -> None:
        """Write a STATE message unless the state is unchanged since the last one (or, when it
        is large, until enough records followed the last one)."""
        writer = self._message_writer
        if not hasattr(writer, "write_state_bytes"):
            super().write_state(state)
            return
        last = self._last_encoded
        if (
            last is not None
            and len(last) >= STATE_PACING_BYTES
            and not STOP.requested
            and record_bytes_written() - self._records_at_last < len(last)
        ):
            self._pending = state
            return
        self._write(state)

    def _write(self, state: TapState) -> None:
        self._pending = None
        encoded = _encoder.encode(state)
        if encoded != self._last_encoded:
            self._message_writer.write_state_bytes(encoded)  # type: ignore[attr-defined]
            self._last_encoded = encoded
            self._records_at_last = record_bytes_written()

    def flush(self) -> None:
        """Write the pending state, if a paced write left one."""
        if self._pending is not None:
            self._write(self._pending)


class FastPathTap(Tap):
    """The tap's private-SDK hooks: the encoded state writer and the termination handler."""

    def flush_state(self) -> None:
        """Write the STATE a paced write left pending (end of the run, or a stop)."""
        writer = self.__dict__.get("_state_writer")
        if isinstance(writer, EncodedStateWriter):
            writer.flush()
            flush_stdout()

    def install_fast_path(self) -> None:
        """Use the encoded state writer when the fast path is on (call after ``__init__``)."""
        if fast_path_enabled(self.config):
            self._state_writer = EncodedStateWriter(self.message_writer)
        elif not SUPPORTED:
            _logger.info(
                "singer-sdk %s is not the %sx series this tap's fast path was written for: "
                "using the SDK's own record path and state writer.",
                SDK_VERSION,
                SDK_SERIES,
            )

    @override
    def _handle_termination(self, signum: int, frame: Any) -> None:
        """SIGTERM/SIGINT: only record the request, no I/O (stopping.py). Streams stop after
        their next checkpoint, that is after a complete window, and the CLI exits 128 +
        signum. (The SDK's handler wrote STATE from inside the handler, possibly in the middle
        of a RECORD line being written, and exited 0.)"""
        STOP.request(signum)

    # -- one copy of equal schemas (a fleet's page_insights_* streams) -----------------------

    def _schema_cache(self) -> dict[Any, tuple[Schema, dict[str, Any]]]:
        """Schema dicts by the identity of the catalog ``Schema`` they come from (which each
        value keeps alive, so the identity cannot be reused)."""
        cache = self.__dict__.get("_fastpath_schemas")
        if cache is None:
            cache = self.__dict__["_fastpath_schemas"] = {}
        return cache

    def schemas_shareable(self) -> bool:
        """True when no stream map and no flattening can edit a registered schema in place
        (a custom map edits a shallow copy of it): streams with equal schemas may then share
        one dict."""
        config = self.config
        return not config.get("stream_maps") and not config.get("flattening_enabled")

    def selected_schema(self, entry: CatalogEntry) -> dict[str, Any]:
        """The schema the SDK's mapper registers for a catalog entry: without its deselected
        properties (``PluginMapper.register_raw_streams_from_catalog``); entries sharing one
        ``Schema`` (catalog_file.py) and one selection share the result when that is safe."""
        name = entry.stream or entry.tap_stream_id
        mask = self.selection_mask(entry.metadata)
        if not self.schemas_shareable():
            return get_selected_schema(name, self.input_schema(entry.schema), mask)
        key = ("selected", id(entry.schema), frozenset(mask.items()))
        cache = self._schema_cache()
        found = cache.get(key)
        if found is None:
            found = cache[key] = (
                entry.schema,
                get_selected_schema(name, self.input_schema(entry.schema), mask),
            )
        return found[1]

    def register_selected(self, mapper: PluginMapper, entry: CatalogEntry) -> None:
        """``mapper.register_raw_stream_schema`` for a selected catalog entry. Without stream
        maps, a stream whose selected schema (one shared dict, :meth:`selected_schema`) and
        keys equal an earlier stream's gets a copy of that stream's ``SameRecordTransform``
        under its own name, instead of the SDK's deep copy of the schema per stream."""
        name = entry.stream or entry.tap_stream_id
        schema = self.selected_schema(entry)
        keys = entry.key_properties
        templates: dict[int, str] = self.__dict__.setdefault("_fastpath_maps", {})
        shareable = (
            self.schemas_shareable()
            and not mapper.stream_maps_dict
            and name not in mapper.stream_maps
        )
        template = templates.get(id(schema)) if shareable else None
        maps = mapper.stream_maps.get(template) if template else None
        if maps and len(maps) == 1:
            first = maps[0]
            if (
                type(first) is SameRecordTransform
                and first.stream_alias == template
                and first.transformed_schema is schema
                and first.raw_key_properties == keys
                and first.flattening_options == mapper.flattening_options
            ):
                clone = copy.copy(first)
                clone.stream_alias = name
                mapper.stream_maps[name] = [clone]
                return
        alias_key = self._alias_map_key(mapper, entry)
        if alias_key is not None and self._clone_alias_map(mapper, name, alias_key):
            return
        mapper.register_raw_stream_schema(name, schema, keys)
        if shareable:
            templates.setdefault(id(schema), name)
        if alias_key is not None:
            self.__dict__.setdefault("_fastpath_alias_maps", {}).setdefault(alias_key, name)

    def _alias_map_key(self, mapper: PluginMapper, entry: CatalogEntry) -> Any:
        """For a stream that exactly one entry of ``stream_maps`` matches, an entry holding
        nothing but a constant ``__alias__`` (the Meltano default ``{"page_insights_*":
        {"__alias__": "page_insights"}}``): a key shared by the streams whose maps the SDK would
        build equal (same catalog Schema, selection, keys and alias). None otherwise."""
        maps_dict = mapper.stream_maps_dict
        if (
            not maps_dict
            or not fast_path_enabled(self.config)
            or self.config.get("flattening_enabled")
        ):
            return None
        if any(key.startswith("__") for key in maps_dict):  # __else__ and the like
            return None
        name = entry.stream or entry.tap_stream_id
        matched = [k for k in maps_dict if k == name or fnmatch.fnmatch(name, k)]
        if len(matched) != 1:
            return None
        definition = maps_dict[matched[0]]
        if not isinstance(definition, dict) or set(definition) != {MAPPER_ALIAS_OPTION}:
            return None
        alias = definition[MAPPER_ALIAS_OPTION]
        if not isinstance(alias, str) or "__" in alias or alias == name:
            return None  # an expression (__stream_name__) or no rename
        mask = self.selection_mask(entry.metadata)
        keys = tuple(entry.key_properties or ())
        return (id(entry.schema), frozenset(mask.items()), keys, matched[0], alias)

    def _clone_alias_map(self, mapper: PluginMapper, name: str, key: Any) -> bool:
        """Register ``name`` with a copy of the alias map built for an earlier stream of the
        same ``key`` (``_alias_map_key``): the SDK would deep-copy the schema twice and build
        the same map again for every page. True when done."""
        template = self.__dict__.get("_fastpath_alias_maps", {}).get(key)
        maps = mapper.stream_maps.get(template) if template else None
        if not maps or len(maps) != 1 or name in mapper.stream_maps:
            return False
        first = maps[0]
        if type(first) is not CustomStreamMap or alias_only(first, template) != key[-1]:
            return False
        clone = copy.copy(first)
        clone.stream_name = name
        mapper.stream_maps[name] = [clone]
        return True

    def selection_mask(self, metadata: MetadataMapping) -> SelectionMask:
        """``metadata.resolve_selection()``, resolved once for every stream whose metadata is
        equal: the same property ``Metadata`` objects (catalog_file.py shares them across a
        fleet's entries) under a root item with the same selection fields. The mask is shared
        and only read. Without the fast path, the SDK's own resolution every time."""
        if not fast_path_enabled(self.config):
            return metadata.resolve_selection()
        root = metadata.get(())
        key = (
            None if root is None else (root.inclusion, root.selected, root.selected_by_default),
            tuple((breadcrumb, id(item)) for breadcrumb, item in metadata.items() if breadcrumb),
        )
        masks: dict[Any, tuple[MetadataMapping, SelectionMask]] = self.__dict__.setdefault(
            "_fastpath_masks", {}
        )
        found = masks.get(key)
        if found is None:  # the mapping is kept alive with the mask: the ids stay its items'
            found = masks[key] = (metadata, metadata.resolve_selection())
        return found[1]

    def input_schema(self, schema: Schema) -> dict[str, Any]:
        """``schema.to_dict()``, built once for every stream whose catalog entry has this
        ``Schema`` object (a fleet's page_insights_* entries share one): the SDK only reads
        a stream's input schema."""
        key = ("input", id(schema))
        cache = self._schema_cache()
        found = cache.get(key)
        if found is None:
            found = cache[key] = (schema, schema.to_dict())
        return found[1]

    def stream_config(self) -> dict[str, Any]:
        """The config dict every stream reads (the SDK copies the tap's config per stream;
        streams only read it, through a read-only view)."""
        config = self.__dict__.get("_fastpath_config")
        if config is None or config != self.config:
            config = self.__dict__["_fastpath_config"] = dict(self.config)
        return config


class FastPathStream(Stream):
    """A stream with the window checkpoint and, where nothing else needs it, the lean path.

    ``window_checkpoints``: the stream moves its bookmark itself once per complete window (the
    SDK's per-record increment is skipped) and calls :meth:`checkpoint` after each window.
    """

    window_checkpoints = False

    def __init__(self, tap: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(tap, *args, **kwargs)
        if isinstance(tap, FastPathTap):
            self._config = tap.stream_config()

    @property
    def mask(self) -> SelectionMask:
        """The SDK's selection mask, one object for streams with equal selections."""
        if self._mask is None:
            tap = self._tap
            metadata = self.metadata
            self._mask = (
                tap.selection_mask(metadata)
                if isinstance(tap, FastPathTap)
                else metadata.resolve_selection()
            )
        return self._mask

    @override
    def apply_catalog(self, catalog: Catalog) -> None:
        """The SDK's (``Stream.apply_catalog``, 0.54), with one input schema dict for every
        stream of one ``Schema`` object instead of a fresh ``to_dict()`` walk per stream (it
        was the largest part of a page stream's set-up)."""
        tap = self._tap
        if not (isinstance(tap, FastPathTap) and fast_path_enabled(tap.config)):
            super().apply_catalog(catalog)
            return
        self._tap_input_catalog = catalog
        entry = catalog.get_stream(self.name)
        if entry is None:
            return
        root = entry.metadata.get(())
        table_keys = getattr(root, "table_key_properties", None)
        table_replication_key = getattr(root, "replication_key", None)
        table_method = getattr(root, "forced_replication_method", None)
        self.primary_keys = entry.key_properties or table_keys or ()
        self.replication_key = entry.replication_key or table_replication_key
        method = entry.replication_method or table_method
        if method:
            self.forced_replication_method = method
        self._input_schema = tap.input_schema(entry.schema)

    @property
    def tap(self) -> Any:
        """The owning tap."""
        return self._tap

    def _fast(self) -> bool:
        return fast_path_enabled(self._tap.config)

    # -- the window checkpoint ------------------------------------------------------------

    def checkpoint(self) -> None:
        """Write STATE (when it changed) after a complete window, then stop here if SIGTERM/
        SIGINT arrived: every line is out and the last STATE covers every row written (RECORD
        lines still held by the writer go out too, even when the state is unchanged)."""
        self._write_state_message()

    @override
    def _write_state_message(self) -> None:
        super()._write_state_message()
        flush_stdout()
        STOP.check()

    @override
    def _increment_stream_state(self, latest_record: Any, *, context: Any = None) -> None:
        """Windowed streams move their bookmark per complete window, never per record (a
        lookback or a past range would otherwise move it back)."""
        if self.window_checkpoints:
            return
        super()._increment_stream_state(latest_record, context=context)

    # -- the SDK's per-record path, lighter ------------------------------------------------

    _all_selected: bool | None = None

    def _every_property_selected(self) -> bool:
        if self._all_selected is None:
            mask = self.mask
            self._all_selected = all(
                mask[("properties", name)] for name in self.schema.get("properties", {})
            )
        return self._all_selected

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        """The SDK's record path minus the work our records do not need: with every property
        selected and ``TYPE_CONFORMANCE_LEVEL = NONE`` (rows built with their final types)
        neither the deselection walk nor the conformance walk can change a record."""
        if (
            not self._fast()
            or not self._every_property_selected()
            or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE
        ):
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    _lean_written = False  # the lean path finalized and wrote this stream's state

    @override
    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        """The SDK's, except right after the lean path finalized and wrote this stream's state
        and nothing marked it changed since: finalizing again changes nothing, and the STATE
        it would write is the one just written (the writer encodes the whole state, every
        page's bookmarks, only to find that out)."""
        if state is None and self._lean_written and self.state_manager.is_flushed:
            self._lean_written = False
            return
        super().finalize_state_progress_markers(state)

    # -- the lean record path -------------------------------------------------------------

    def get_record_chunks(self, context: Any) -> Iterator[list[dict[str, Any]]] | None:
        """Final rows in chunks (one window each), or None when the stream has no such path.

        A stream that implements this sets ``window_checkpoints``, calls :meth:`checkpoint`
        between chunks, and builds rows with their final types (``TYPE_CONFORMANCE_LEVEL =
        NONE``).
        """
        return None

    def _lean_path(self, write_messages: bool) -> bool:
        """True when nothing the SDK does per record would change this stream's output but
        the stream name of a pure alias map (:meth:`_lean_stream_name`)."""
        return (
            write_messages
            and self._fast()
            and self.selected
            and self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            and self.ABORT_AT_RECORD_COUNT is None
            and not self.child_streams
            and type(self).post_process is Stream.post_process
            and self._stream_version is None
            and self._lean_stream_name() is not None
            and hasattr(self._tap.message_writer, "write_raw")
            and self._every_property_selected()
        )

    def _lean_stream_name(self) -> str | None:
        """The stream name the lean path writes RECORD lines under: the stream's own name
        without a stream map, the alias under a pure alias map, None under any other map (or
        more than one)."""
        maps = self.stream_maps
        return alias_only(maps[0], self.name) if len(maps) == 1 else None

    @override
    def _sync_records(
        self, context: Any = None, *, write_messages: bool = True
    ) -> Generator[dict, Any, Any]:
        """The SDK's record loop, or, for chunked streams, one encode and write per chunk.

        The lean path keeps what the SDK's loop does for such a stream (starting replication
        value, record counter and timer, final state) and drops the per-record work that is a
        no-op for it (limit check, post-processing, child contexts, mapping, conformance,
        message objects, per-record state). Each chunk's RECORD lines are encoded by msgspec
        and written with one call, with one ``time_extracted`` per chunk.
        """
        STOP.check()  # a stop requested between streams: no new stream starts
        self._lean_written = False
        lean = context is None and self.partitions is None and self._lean_path(write_messages)
        chunks = self.get_record_chunks(context) if lean else None
        if chunks is None:
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        write_raw = self._tap.message_writer.write_raw  # type: ignore[attr-defined]
        encode = _encoder.encode
        head = b'{"type":"RECORD","stream":' + encode(self._lean_stream_name()) + b',"record":'
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        with record_counter, timer:
            self._write_starting_replication_value(context)
            for rows in chunks:
                if not rows:
                    continue
                tail = b',"time_extracted":' + encode(utc_now()) + b"}\n"
                write_raw(head + (tail + head).join(map(encode, rows)) + tail)
                record_counter.increment(len(rows))
                yield from rows
        self._finalize_state(self.stream_state)
        self._write_state_message()
        self._lean_written = True
