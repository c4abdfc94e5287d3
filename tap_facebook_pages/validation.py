"""Checks of the config, state and catalog a run is given, before the SDK or a stream reads them.

Every problem becomes one ``ConfigError`` (exit code 2) whose text names the setting, stream or
file and what is expected, without a traceback. Secret values are never part of a message, even
when they are not strings, and text echoed back from the input is stripped of control
characters (newlines, ANSI escapes) and shortened.

The CLI (cli.py) reads the files named by ``--config``/``--state``/``--catalog`` here before the
SDK parses them (``check_cli_inputs``); a tap built in Python checks the dicts it is given
(``check_tap_inputs``, from ``TapFacebookPages.__init__``).
"""

from __future__ import annotations

import copy
import datetime
import decimal
import difflib
import functools
import json
import logging
import math
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec
from jsonschema import Draft202012Validator, ValidationError
from singer_sdk.plugin_base import PluginBase
from singer_sdk.singerlib import Catalog

from tap_facebook_pages.config import SILENT, ConfigError, Settings

MAX_ERRORS_SHOWN = 3
_SHOWN_CHARS = 60
# Lists that select what to read: an empty one is refused rather than read as "the defaults".
NON_EMPTY_LISTS = ("page_ids", "page_metrics", "post_metrics", "reel_metrics", "periods")
_HINTS = {
    "access_token": "a string (the token)",
    "app_secret": "a string (the app secret)",
    "app_id": "a string (the app's numeric id, in quotes)",
    "api_version": "a Graph API version like v25.0",
    "api_base_url": "an http:// or https:// URL with a host, like https://graph.facebook.com",
    "start_date": "a date YYYY-MM-DD",
    "end_date": "a date YYYY-MM-DD",
}
_API_VERSION = re.compile(r"v[0-9]{1,3}\.[0-9]{1,2}")
_PAGE_ID = re.compile(r"[0-9]{1,30}")
_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})"
)
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


# -- text ---------------------------------------------------------------------------------------


def clean(text: str, limit: int | None = None) -> str:
    """``text`` without ANSI escapes and control characters (line breaks become spaces),
    shortened to ``limit`` characters."""
    text = _ANSI.sub("", text)
    text = "".join(
        " " if ch in "\r\n\t\v\f" else ch
        for ch in text
        if ch in "\r\n\t\v\f" or unicodedata.category(ch)[0] != "C"
    )
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _kind(value: Any) -> str:
    """The JSON kind of ``value``, for messages that must not show it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, decimal.Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _show(value: Any) -> str:
    """A short, printable rendering of a (non-secret) scalar; the kind for containers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return clean(str(value), _SHOWN_CHARS)
    if isinstance(value, str):
        return json.dumps(clean(value, _SHOWN_CHARS), ensure_ascii=False)
    return _kind(value)


def _mask(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _strings(value: Any) -> Iterable[str]:
    """Every string inside ``value`` (a secret may be wrapped in a list by mistake)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


# -- JSON files ---------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def load_json_file(path: str, what: str) -> Any:
    """The JSON value in ``path``; ``ConfigError`` naming ``what`` (e.g. "config file x.json")
    when it is missing, a directory, unreadable, empty or not JSON (NaN/Infinity included).

    Floats are read as ``Decimal``, as the SDK reads them, so both see the same values.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        msg = f"{what}: not found"
        raise ConfigError(msg) from None
    except IsADirectoryError:
        msg = f"{what}: is a directory, expected a JSON file"
        raise ConfigError(msg) from None
    except PermissionError:
        msg = f"{what}: cannot be read (permission denied)"
        raise ConfigError(msg) from None
    except OSError as error:
        msg = f"{what}: cannot be read ({clean(error.strerror or type(error).__name__)})"
        raise ConfigError(msg) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"{what}: is not UTF-8 text, expected a JSON file"
        raise ConfigError(msg) from None
    if not text.strip():
        msg = f"{what}: is empty, expected a JSON object"
        raise ConfigError(msg)
    try:
        return json.loads(text, parse_float=decimal.Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        msg = f"{what}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        raise ConfigError(msg) from None
    except ValueError as error:  # NaN, Infinity
        msg = f"{what}: not valid JSON: {error}"
        raise ConfigError(msg) from None


def _object(value: Any, what: str, expected: str = "a JSON object") -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"{what}: expected {expected}, not {_kind(value)}"
        raise ConfigError(msg)
    return value


# -- config -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _final_schema(plugin: type[PluginBase]) -> dict[str, Any]:
    schema = copy.deepcopy(plugin.config_jsonschema)
    plugin.append_builtin_config(schema)
    return schema


def final_schema(plugin: type[PluginBase]) -> dict[str, Any]:
    """The config schema ``plugin`` validates against: its own settings plus the SDK's
    (stream_maps, flattening_*, batch_config, faker_config…)."""
    return _final_schema(plugin)


def _types(prop: Mapping[str, Any]) -> list[str]:
    types = prop.get("type", [])
    return [t for t in ([types] if isinstance(types, str) else types) if t != "null"]


def _is_secret(prop: Mapping[str, Any]) -> bool:
    return bool(prop.get("secret") or prop.get("writeOnly"))


def _range(noun: str, prop: Mapping[str, Any]) -> str:
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        return f"{noun} from {low} to {high}"
    if low is not None:
        return f"{noun} of at least {low}"
    if high is not None:
        return f"{noun} of at most {high}"
    return noun


def _expected(prop: Mapping[str, Any], setting: str | None = None) -> str:
    """What a value of schema ``prop`` looks like, in words."""
    if setting in _HINTS:
        return _HINTS[setting]
    if "enum" in prop:
        return "one of " + ", ".join(str(v) for v in prop["enum"])
    types = _types(prop)
    kind = types[0] if len(types) == 1 else None
    if kind == "integer":
        return _range("an integer", prop)
    if kind == "number":
        return _range("a number", prop)
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        items = prop.get("items") or {}
        if setting == "page_ids":
            return "a list of page ids (strings of digits)"
        if "enum" in items:
            return "a list of: " + ", ".join(str(v) for v in items["enum"])
        return "a list of strings" if _types(items) == ["string"] else "a list"
    if kind == "object":
        return "an object"
    if kind == "string":
        return "a string"
    return "a valid value"


def _where(path: Iterable[Any]) -> str:
    parts = list(path)
    text = str(parts[0]) if parts else "config"
    for part in parts[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return clean(text, 80)


def _schema_error(error: ValidationError, props: Mapping[str, Any]) -> str:
    root = error.path[0] if error.path else None
    prop = props.get(root, {}) if isinstance(root, str) else {}
    where = _where(error.path)
    if _is_secret(prop):
        return f"{where}: expected {_expected(prop, str(root))}, got {_kind(error.instance)}"
    if error.validator in {"type", "enum", "minimum", "maximum", "exclusiveMinimum"}:
        sub = error.schema if isinstance(error.schema, Mapping) else {}
        setting = str(root) if len(error.path) == 1 else None
        if root == "page_ids" and len(error.path) == 2:
            return f"{where}: expected a page id in quotes (digits), got {_show(error.instance)}"
        return f"{where}: expected {_expected(sub, setting)}, got {_show(error.instance)}"
    return f"{where}: {clean(error.message, 160)}"


def _url_problem(text: str) -> str | None:
    if text != clean(text) or any(ch.isspace() for ch in text):
        return "spaces or control characters in it"
    try:
        parts = urllib.parse.urlsplit(text)
        _ = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return "no http:// or https:// scheme"
    if not parts.hostname:
        return "no host"
    if parts.username or parts.password:
        return "a user name or password in it"
    if parts.query or parts.fragment:
        return "a query or fragment in it"
    return None


def _date_problem(value: str) -> bool:
    """True when ``value`` is not a date (YYYY-MM-DD, or an ISO 8601 date-time)."""
    match = _DATE.fullmatch(value)
    if not match:
        return True
    year, month, day, hour, minute, second, _ = match.groups()
    try:
        datetime.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return True
    return False


def _value_errors(raw: Mapping[str, Any], props: Mapping[str, Any]) -> list[str]:
    """Checks the schema cannot express: formats, non-finite numbers, cross-field ranges."""
    errors: list[str] = []
    for name, value in raw.items():
        if (
            name in props
            and isinstance(value, (float, decimal.Decimal))
            and not math.isfinite(float(value))
        ):
            errors.append(f"{name}: expected {_expected(props[name], name)}, got {value}")
    base = raw.get("api_base_url")
    if isinstance(base, str) and (problem := _url_problem(base)):
        shown = "" if "@" in base else f", got {_show(base)}"  # user:password@ is not echoed
        errors.append(f"api_base_url: expected {_HINTS['api_base_url']}{shown} ({problem})")
    version = raw.get("api_version")
    if isinstance(version, str) and not _API_VERSION.fullmatch(version):
        errors.append(f"api_version: expected {_HINTS['api_version']}, got {_show(version)}")
    for index, page_id in enumerate(raw.get("page_ids") or ()):
        if isinstance(page_id, str) and not _PAGE_ID.fullmatch(page_id):
            errors.append(
                f"page_ids[{index}]: expected a page id of digits only, got {_show(page_id)}"
            )
    for name in ("start_date", "end_date"):
        value = raw.get(name)
        if isinstance(value, str) and value and _date_problem(value):
            errors.append(f"{name}: expected {_HINTS[name]}, got {_show(value)}")
    count, shard = raw.get("shard_count", 1), raw.get("shard_index", 0)
    if isinstance(count, int) and isinstance(shard, int) and count >= 1 and shard >= count:
        errors.append(f"shard_index: expected 0 .. shard_count-1 (0 .. {count - 1}), got {shard}")
    return errors


def _fill_source(message: str, sources: Mapping[str, str]) -> str:
    """``message`` plus where its setting came from (a file, an environment variable)."""
    match = re.match(r"[a-z_]+", message)
    source = sources.get(match.group(0)) if match else None
    return f"{message} (from {source})" if source else message


def check_config(
    raw: Any,
    *,
    schema: Mapping[str, Any],
    sources: Mapping[str, str] | None = None,
    require_token: bool = False,
    today: datetime.date | None = None,
    discovering: bool = False,
) -> list[str]:
    """Check a config before the SDK validates it; returns warnings, raises ``ConfigError``.

    ``schema`` is the tap's final config schema (``final_schema(TapFacebookPages)``);
    ``sources`` maps a setting to where it was read (shown in messages). Errors: wrong types
    and ranges (SDK schema), a secret that is not a string (its value is never shown), null for
    a setting that has a default, an empty selection list, a bad URL, API version, page id or
    date, shard_index outside the shards, then what ``Settings.from_config`` refuses (unknown
    metrics, start_date after end_date…). Warnings: unknown setting names (with the closest
    known one) and duplicate page ids (read once).
    """
    config = _object(raw, "config", "an object of settings")
    props: Mapping[str, Any] = schema.get("properties", {})
    secrets = [s for name, p in props.items() if _is_secret(p) for s in _strings(raw.get(name))]
    errors: list[str] = []
    for name, value in config.items():
        prop = props.get(name)
        if prop is None:
            continue
        if _is_secret(prop) and value is not None and not isinstance(value, str):
            errors.append(
                f"{name}: expected {_expected(prop, name)}, got {_kind(value)} (value not shown)"
            )
        elif value is None and "default" in prop:
            errors.append(
                f"{name}: expected {_expected(prop, name)}, got null "
                f"(remove the setting to use the default, {json.dumps(prop['default'])[:40]})"
            )
        elif value == [] and name in NON_EMPTY_LISTS:
            fallback = "read every page" if name == "page_ids" else "use the defaults"
            errors.append(
                f"{name}: is an empty list; list at least one, or remove it to {fallback}"
            )
    reported = {e.split(":", 1)[0] for e in errors}
    order = {name: i for i, name in enumerate(props)}
    schema_errors = sorted(
        (
            e
            for e in Draft202012Validator(schema).iter_errors(config)
            if not (e.path and e.path[0] in reported)
        ),
        key=lambda e: (order.get(str(e.path[0]) if e.path else "", -1), [str(p) for p in e.path]),
    )
    first_per_path = {tuple(e.path): e for e in reversed(schema_errors)}
    errors += [_schema_error(e, props) for e in schema_errors if first_per_path[tuple(e.path)] is e]
    if not errors:
        errors += _value_errors(config, props)
    if (
        not errors
        and require_token
        and not config.get("sandbox")
        and not config.get("access_token")
    ):
        errors.append("access_token is required (or set sandbox: true to try the tap on fake data)")
    if not errors:
        try:
            Settings.from_config(config, SILENT, today=today, shard_index_required=not discovering)
        except ConfigError as error:
            errors.append(str(error))
    if errors:
        shown = [_fill_source(e, sources or {}) for e in errors[:MAX_ERRORS_SHOWN]]
        more = len(errors) - len(shown)
        text = "; ".join(shown) + (f" (and {more} more)" if more else "")
        raise ConfigError(_mask(clean(text), secrets))
    return [_mask(w, secrets) for w in _config_warnings(config, props)]


def _config_warnings(config: Mapping[str, Any], props: Mapping[str, Any]) -> list[str]:
    warnings: list[str] = []
    for name in config:
        if name in props:
            continue
        close = difflib.get_close_matches(name, list(props), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"unknown setting {_show(name)} is ignored{hint}")
    seen: set[str] = set()
    for page_id in config.get("page_ids") or ():
        if page_id in seen:
            warnings.append(f"page_ids: {_show(page_id)} is listed more than once; reading it once")
        seen.add(page_id)
    return warnings


# -- state and catalog --------------------------------------------------------------------------


def _timestamp_problem(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    match = _TIMESTAMP.fullmatch(value)
    if not match:
        return True
    *parts, offset = match.groups()
    year, month, day, hour, minute, second = (int(p) for p in parts)
    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return True
    if offset != "Z":
        digits = offset[1:].replace(":", "")
        return int(digits[:2]) > 23 or int(digits[2:]) > 59
    return False


def _bookmark_problem(bookmark: Mapping[str, Any]) -> str | None:
    value = bookmark.get("replication_key_value")
    if value is not None and _timestamp_problem(value):
        return (
            "replication_key_value: expected an RFC 3339 timestamp like "
            f"2026-05-30T07:00:00+00:00, got {_show(value)}"
        )
    invalid = bookmark.get("invalid_metrics")
    if invalid is not None and (
        not isinstance(invalid, list) or not all(isinstance(m, str) for m in invalid)
    ):
        return f"invalid_metrics: expected a list of metric names (strings), got {_show(invalid)}"
    rows = bookmark.get("last_nonzero_rows")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        return f"last_nonzero_rows: expected an integer of at least 0, got {_show(rows)}"
    return None


def check_state(raw: Any, *, source: str = "state") -> None:
    """Check a Singer state: an object whose ``bookmarks`` map each stream to an object, with
    RFC 3339 ``replication_key_value``s and lists of strings for ``invalid_metrics`` (at the
    stream level and in each of its ``partitions``). Raises ``ConfigError``."""
    state = _object(raw, source)
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        msg = f"{source}: bookmarks: expected an object of streams, got {_kind(bookmarks)}"
        raise ConfigError(msg)
    for stream, bookmark in bookmarks.items():
        where = f"{source}: stream {_show(stream)}"
        if not isinstance(bookmark, dict):
            msg = f"{where}: expected an object of bookmark values, got {_kind(bookmark)}"
            raise ConfigError(msg)
        problem = _bookmark_problem(bookmark)
        if problem:
            raise ConfigError(f"{where}: {problem}")
        partitions = bookmark.get("partitions")
        if partitions is None:
            continue
        if not isinstance(partitions, list):
            msg = f"{where}: partitions: expected a list, got {_kind(partitions)}"
            raise ConfigError(msg)
        for index, partition in enumerate(partitions):
            if not isinstance(partition, dict):
                msg = f"{where}: partitions[{index}]: expected an object, got {_kind(partition)}"
                raise ConfigError(msg)
            problem = _bookmark_problem(partition)
            if problem:
                raise ConfigError(f"{where}: partitions[{index}]: {problem}")


def check_catalog(raw: Any, *, source: str = "catalog") -> None:
    """Check a Singer catalog: an object with a ``streams`` list of objects, each with a string
    ``tap_stream_id``, an object ``schema`` and a ``metadata`` list. Raises ``ConfigError``."""
    catalog = _object(raw, source, 'a JSON object with a "streams" list')
    streams = catalog.get("streams")
    if not isinstance(streams, list):
        shown = '"streams" is missing' if streams is None else f'"streams" is {_kind(streams)}'
        msg = f'{source}: expected a JSON object with a "streams" list; {shown}'
        raise ConfigError(msg)
    for index, entry in enumerate(streams):
        where = f"{source}: streams[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected an object, got {_kind(entry)}")
        if not isinstance(entry.get("tap_stream_id"), str):
            msg = (
                f"{where}: expected a tap_stream_id string, got {_show(entry.get('tap_stream_id'))}"
            )
            raise ConfigError(msg)
        if not isinstance(entry.get("schema", {}), dict):
            msg = f"{where} ({_show(entry['tap_stream_id'])}): schema: expected an object"
            raise ConfigError(msg)
        metadata = entry.get("metadata", [])
        if not isinstance(metadata, list) or not all(isinstance(m, dict) for m in metadata):
            msg = f"{where} ({_show(entry['tap_stream_id'])}): metadata: expected a list of objects"
            raise ConfigError(msg)


_decode_any = msgspec.json.Decoder(float_hook=decimal.Decimal).decode
_decode_members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_decode_items = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _outline_value(raw: msgspec.Raw, *, items: bool = False) -> Any:
    """An object as ``{}``; with ``items``, a list as its items so outlined; else the value."""
    data = bytes(raw)
    if data[:1] == b"{":
        return {}
    if items and data[:1] == b"[":
        return [_outline_value(item) for item in _decode_items(data)]
    return _decode_any(data)


def _catalog_outline(path: str) -> Any:
    """What :func:`check_catalog` looks at in the catalog file, every schema and metadata item
    that is an object given as ``{}``: a fleet's catalog holds megabytes of them, which the
    check has no use for and which would all be in memory at once. None when the file cannot
    be read that way (unreadable, not JSON, NaN, …): the caller reads it whole, for its
    message."""
    try:
        top = _decode_members(Path(path).read_bytes())
        outline: dict[str, Any] = {}
        streams = top.get("streams")
        if streams is None:
            return outline
        if bytes(streams)[:1] != b"[":
            outline["streams"] = _decode_any(streams)
            return outline
        entries: list[Any] = []
        for raw in _decode_items(streams):
            if bytes(raw)[:1] != b"{":
                entries.append(_decode_any(raw))
                continue
            members = _decode_members(raw)
            entry: dict[str, Any] = {}
            for key, value in members.items():
                if key == "schema":
                    entry[key] = _outline_value(value)
                elif key == "metadata":
                    entry[key] = _outline_value(value, items=True)
                elif key == "tap_stream_id":
                    entry[key] = _decode_any(value)
            entries.append(entry)
        outline["streams"] = entries
    except (OSError, ValueError):  # msgspec's errors are ValueErrors
        return None
    return outline


# -- entry points -------------------------------------------------------------------------------


def check_tap_inputs(
    plugin: type[PluginBase], inputs: Mapping[str, Any], logger: logging.Logger
) -> None:
    """The config, state and catalog dicts given to a tap's constructor, checked; config
    warnings are logged. Paths and ``Catalog`` objects are left to the SDK, and so is a config
    given with ``validate_config=False``."""
    config = inputs.get("config")
    if isinstance(config, dict) and inputs.get("validate_config", True):
        discovering = bool(getattr(plugin, "discovering", False))
        for warning in check_config(config, schema=final_schema(plugin), discovering=discovering):
            logger.warning("%s", warning)
    if isinstance(inputs.get("state"), dict):
        check_state(inputs["state"])
    catalog = inputs.get("catalog")
    if isinstance(catalog, dict) and not isinstance(catalog, Catalog):  # Catalog: a dict too
        check_catalog(catalog)


def _option_values(argv: list[str], option: str) -> list[str]:
    """The values of ``option`` in ``argv`` (``--option value`` or ``--option=value``)."""
    values: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            break
        if arg == option:
            value = next(args, None)
            if value is not None:
                values.append(value)
        elif arg.startswith(option + "="):
            values.append(arg[len(option) + 1 :])
    return values


def _env_config(plugin: type[PluginBase], schema: Mapping[str, Any]) -> dict[str, Any]:
    prefix = str(plugin._env_var_prefix)
    try:
        return dict(plugin._env_var_config)
    except (ValueError, TypeError):
        for name, prop in schema.get("properties", {}).items():
            variable = prefix + name.upper().replace("-", "_")
            if _types(prop) == ["integer"]:
                text = os.environ.get(variable)
                if text is not None and not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
                    msg = f"environment variable {variable}: expected {_expected(prop, name)}"
                    raise ConfigError(msg) from None
        msg = f"environment variables {prefix}*: a value could not be parsed"
        raise ConfigError(msg) from None


def check_cli_inputs(argv: list[str], plugin: type[PluginBase]) -> None:
    """Read and check the files named by ``--config`` (several are merged, later wins; ``ENV``
    adds the environment variables), ``--state`` and ``--catalog`` before the SDK does."""
    if "--help" in argv or "--version" in argv:
        return
    schema = final_schema(plugin)
    config: dict[str, Any] = {}
    sources: dict[str, str] = {}
    use_env = False
    for path in _option_values(argv, "--config"):
        if path == "ENV":
            use_env = True
            continue
        what = f"config file {clean(path, 200)}"
        data = _object(load_json_file(path, what), what, "a JSON object of settings")
        config |= data
        sources.update(dict.fromkeys(data, what))
    if use_env:
        env = _env_config(plugin, schema)
        prefix = str(plugin._env_var_prefix)
        config |= env
        sources.update({k: f"environment variable {prefix}{k.upper()}" for k in env})
    for path in _option_values(argv, "--state")[-1:]:
        what = f"state file {clean(path, 200)}"
        check_state(load_json_file(path, what), source=what)
    for path in _option_values(argv, "--catalog")[-1:]:
        what = f"catalog file {clean(path, 200)}"
        outline = _catalog_outline(path)
        check_catalog(load_json_file(path, what) if outline is None else outline, source=what)
    if "--about" not in argv:
        check_config(
            config,
            schema=schema,
            sources=sources,
            require_token=True,
            discovering="--discover" in argv,
        )
