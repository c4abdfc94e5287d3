"""The Meltano Hub definition (meltano-hub/tap-facebook-pages.yml) and the repository's own
meltano.yml: both declare every setting of the tap's config schema, the same way.

"Every setting" is what ``tap-facebook-pages --about`` advertises: the tap's own settings, then
the SDK's built-in ones (stream maps, flattening, batch). No Meltano needed; the e2e tests in
tests/test_meltano_hub_e2e.py add the definition to a fresh project with ``--from-ref``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from singer_sdk.helpers._flattening import DEFAULT_FLATTENING_SEPARATOR, DEFAULT_MAX_KEY_LENGTH
from singer_sdk.mapper import PluginMapper

from tap_facebook_pages.tap import TapFacebookPages

ROOT = Path(__file__).resolve().parents[1]
HUB_YML = ROOT / "meltano-hub" / "tap-facebook-pages.yml"
MELTANO_YML = ROOT / "meltano.yml"

# One page_insights table for a fleet: the SDK's stream maps take a glob as the source stream.
ALIAS_MAP = {"page_insights_*": {"__alias__": "page_insights"}}
# Built-in settings have no default in the schema; these are the values the SDK applies when
# the setting is absent (flattening_max_depth has none: it is required once flattening is on).
BUILTIN_DEFAULTS: dict[str, Any] = {
    "stream_maps": ALIAS_MAP,
    "flattening_enabled": False,
    "flattening_max_key_length": DEFAULT_MAX_KEY_LENGTH,
    "flattening_separator": DEFAULT_FLATTENING_SEPARATOR,
}
CAPABILITIES = ["catalog", "discover", "state", "about", "stream-maps", "schema-flattening"]
SENSITIVE = {"access_token", "app_secret"}
# The metric lists' `value` is the catalog's default list of this tap version, so that `meltano
# config list` shows the real defaults; this test keeps the definition in step with the catalog
# at every release (the definition is versioned with the tap).


def _hub() -> dict[str, Any]:
    return yaml.safe_load(HUB_YML.read_text())


def _repo_tap() -> dict[str, Any]:
    project = yaml.safe_load(MELTANO_YML.read_text())
    return next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-facebook-pages")


def _schema() -> tuple[dict[str, Any], set[str]]:
    """Every advertised setting (``--about`` order) and the names of the SDK's built-ins."""
    schema = TapFacebookPages._get_about_info().settings  # what --about prints
    builtin: dict[str, Any] = {"type": "object", "properties": {}}
    TapFacebookPages.append_builtin_config(builtin)
    return schema["properties"], set(builtin["properties"])


def _expected_kind(prop: dict[str, Any]) -> str:
    types = prop.get("type", "string")
    types = [t for t in ([types] if isinstance(types, str) else types) if t != "null"]
    if prop.get("format") == "date":
        return "date_iso8601"
    if "enum" in prop:
        return "options"
    return {
        "string": "string",
        "integer": "integer",
        "number": "decimal",
        "boolean": "boolean",
        "array": "array",
        "object": "object",
    }[types[0]]


def _expected(name: str, prop: dict[str, Any], builtin: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "kind": _expected_kind(prop)}
    default = BUILTIN_DEFAULTS.get(name) if builtin else prop.get("default")
    if default is not None:
        entry["value"] = default
    entry["label"] = prop.get("title")
    entry["description"] = prop.get("description")
    if prop.get("secret"):
        entry["sensitive"] = True
    return entry


def _check_settings(declared_list: list[dict[str, Any]], where: str) -> None:
    properties, builtins = _schema()
    declared = {s["name"]: s for s in declared_list}
    missing = [n for n in properties if n not in declared]
    assert not missing, f"add to {where}:\n" + yaml.safe_dump(
        [_expected(n, properties[n], n in builtins) for n in missing], sort_keys=False, width=100
    )
    assert set(declared) == set(properties), f"not tap settings: {set(declared) - set(properties)}"
    assert list(declared) == list(properties), f"keep {where} in the --about order"
    for name, prop in properties.items():
        setting, builtin = declared[name], name in builtins
        expected = _expected(name, prop, builtin)
        hint = f"{where}: {name} should be\n" + yaml.safe_dump([expected], sort_keys=False)
        assert setting["kind"] == expected["kind"], hint
        assert setting.get("kind") != "password", "kind: password is deprecated; use sensitive"
        assert bool(setting.get("sensitive")) == (name in SENSITIVE) == bool(prop.get("secret"))
        assert setting.get("label") == expected["label"], hint
        assert setting.get("value") == expected.get("value"), hint
        if not builtin or name != "stream_maps":  # stream_maps documents its default alias map
            assert setting.get("description") == expected["description"], hint


def test_hub_definition_declares_every_advertised_setting() -> None:
    _check_settings(_hub()["settings"], str(HUB_YML.relative_to(ROOT)))


def test_meltano_yml_declares_every_advertised_setting() -> None:
    _check_settings(_repo_tap()["settings"], "meltano.yml")


def test_hub_definition_and_meltano_yml_do_not_drift() -> None:
    """Same settings (names, kinds, defaults, sensitivity, labels, descriptions) and the same
    capabilities; each capability is one the tap advertises."""
    hub, repo = _hub(), _repo_tap()
    assert hub["settings"] == repo["settings"]
    assert hub["capabilities"] == repo["capabilities"] == CAPABILITIES
    assert set(CAPABILITIES) <= {str(c) for c in TapFacebookPages.capabilities}
    for key in ("name", "namespace", "executable", "label", "description"):
        assert hub[key] == repo[key], key


def test_hub_definition_shape() -> None:
    """What Meltano's ``--from-ref`` and the Hub read: the alias map as the stream_maps default,
    object-kind map settings, secrets sensitive, the default selection without content streams."""
    hub = _hub()
    for key in ("name", "namespace", "variant", "label", "description", "docs", "repo",
                "pip_url", "executable", "capabilities", "keywords", "maintenance_status",
                "settings_group_validation", "settings", "select"):  # fmt: skip
        assert key in hub, key
    settings = {s["name"]: s for s in hub["settings"]}
    assert settings["stream_maps"]["value"] == ALIAS_MAP
    assert settings["stream_maps"]["kind"] == settings["stream_map_config"]["kind"] == "object"
    assert settings["flattening_enabled"]["kind"] == "boolean"
    assert settings["flattening_max_depth"]["kind"] == "integer"
    for name in SENSITIVE:
        assert settings[name]["kind"] == "string"
        assert settings[name]["sensitive"] is True
    assert hub["select"] == ["pages.*", "page_insights_*.*"]
    assert {"access_token"} in [set(g) for g in hub["settings_group_validation"]]


def test_alias_map_puts_every_page_in_one_stream() -> None:
    """singer-sdk 0.54's stream maps match the glob key: each page_insights_<id> stream is
    renamed page_insights, its key (with page_id) kept; other streams are untouched."""
    mapper = PluginMapper(
        plugin_config={"stream_maps": ALIAS_MAP}, logger=logging.getLogger("test")
    )
    keys = ["page_id", "metric", "period", "end_time", "breakdown_key"]
    schema = {"type": "object", "properties": {k: {"type": "string"} for k in keys}}
    for stream in ("page_insights_1", "page_insights_2", "pages"):
        mapper.register_raw_stream_schema(stream, schema, keys)
    aliases = {s: [m.stream_alias for m in maps] for s, maps in mapper.stream_maps.items()}
    assert aliases == {
        "page_insights_1": ["page_insights"],
        "page_insights_2": ["page_insights"],
        "pages": ["pages"],
    }
    assert mapper.stream_maps["page_insights_1"][0].transformed_key_properties == keys
