"""The ``--catalog`` file, read into the SDK's ``Catalog`` with one object per distinct part.

A fleet's catalog holds one ``page_insights_<page_id>`` entry per page, each with the same
schema and the same property metadata. Parsed the usual way (the SDK's ``Catalog.from_dict``
on the decoded JSON) every entry gets its own ``Schema`` objects, its own ``Metadata``
objects and its own copies of every string in them: about 12 KiB a page that the run keeps.
Here the file is decoded by msgspec with each entry's ``schema`` and each metadata item kept
as raw JSON bytes; equal bytes become one shared ``Schema`` object and, for property
breadcrumbs, one shared ``Metadata`` object. The stream's own (root) metadata is never shared:
the SDK sets ``selected`` on it. The resulting catalog equals ``Catalog.from_dict`` of the same
file, entry by entry (tests/test_catalog_file.py).
"""

from __future__ import annotations

import copy
import dataclasses
import decimal
from pathlib import PurePath
from typing import Any

import msgspec
from singer_sdk.singerlib import Catalog, CatalogEntry, MetadataMapping, Schema

_Entry = dict[str, msgspec.Raw]
_File = dict[str, msgspec.Raw]
_decode_file = msgspec.json.Decoder(_File).decode
_decode_streams = msgspec.json.Decoder(list[_Entry]).decode
_decode_items = msgspec.json.Decoder(list[msgspec.Raw]).decode
# Numbers with a fraction as Decimal, as the SDK reads a catalog.
_decode = msgspec.json.Decoder(float_hook=decimal.Decimal).decode


def read_catalog(path: str | PurePath) -> Catalog:
    """The catalog in the file at ``path`` (see :func:`parse_catalog`)."""
    with open(path, "rb") as file:
        return parse_catalog(file.read())


def parse_catalog(data: bytes | str) -> Catalog:
    """The catalog in the JSON text ``data``, its equal parts shared (see the module docstring).

    Raises ``ValueError`` (msgspec's ``DecodeError`` is one) for a text that cannot be read
    as a catalog; the CLI has checked the file before (validation.py)."""
    top = _decode_file(data)
    streams = top.get("streams")
    entries = _decode_streams(streams) if streams is not None else []
    schemas: dict[bytes, Schema] = {}
    items: dict[bytes, tuple[tuple[str, ...], Any]] = {}
    values: dict[bytes, Any] = {}  # key_properties, replication_key, …: equal across pages
    catalog = Catalog()
    for raw in entries:
        fields = {}
        for name, value in raw.items():
            if name in ("schema", "metadata"):
                continue
            if name in ("tap_stream_id", "stream"):  # one per entry: nothing to share
                fields[name] = _decode(value)
                continue
            key = bytes(value)
            if key not in values:
                values[key] = _decode(value)
            fields[name] = values[key]
        entry = CatalogEntry.from_dict({**fields, "schema": {}, "metadata": []})
        schema_raw = raw.get("schema")
        if schema_raw is not None:
            key = bytes(schema_raw)
            schema = schemas.get(key)
            if schema is None:
                schema = schemas[key] = Schema.from_dict(_decode(schema_raw))
            entry = dataclasses.replace(entry, schema=schema)
        metadata_raw = raw.get("metadata")
        if metadata_raw is not None:
            entry = dataclasses.replace(entry, metadata=_metadata(metadata_raw, items))
        catalog[entry.tap_stream_id] = entry
    return catalog


def _metadata(
    raw: msgspec.Raw, shared: dict[bytes, tuple[tuple[str, ...], Any]]
) -> MetadataMapping:
    """The entry's metadata mapping; property items equal to an earlier one share its object,
    and a stream's own (root) item equal to an earlier one is a shallow copy of it (its own
    object, the same values)."""
    mapping = MetadataMapping()
    for item in _decode_items(raw):
        key = bytes(item)
        known = shared.get(key)
        if known is None:
            parsed = MetadataMapping.from_iterable([_decode(item)])
            ((breadcrumb, value),) = parsed.items()
            known = shared[key] = (breadcrumb, value)
        elif not known[0]:  # the root: the SDK sets `selected` on it, one object per stream
            known = ((), copy.copy(known[1]))
        mapping[known[0]] = known[1]
    return mapping
