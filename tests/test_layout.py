"""The package's shape, checked from its imports (issue 13): no import cycle (type-only imports
included), the source layer free of the SDK and of the streams, nothing below ``streams/``
importing ``tap.py``, and every private singer-sdk name in the one guarded module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tap_facebook_pages"
PRIVATE_SDK = re.compile(
    r"singer_sdk\.helpers\._|\._(sync_records|generate_record_messages|increment_stream_state|"
    r"write_state_message|write_starting_replication_value|finalize_state|stream_version|"
    r"state_writer|tap|handle_termination)\b"
)


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
}


def _imports(path: Path, prefix: str = "tap_facebook_pages") -> set[str]:
    """Every module under ``prefix`` that ``path`` imports, at any depth of the file (type-only
    imports included); ``from pkg import submodule`` counts as the submodule."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(prefix)}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(prefix):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module or "")
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_cycle_in_the_package() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_has_teeth() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_the_source_layer_imports_no_sdk_tap_runtime_or_streams() -> None:
    for path in (PACKAGE / "source").rglob("*.py"):
        assert not _imports(path, "singer_sdk"), path
        imported = _imports(path)
        assert not any(
            m.startswith(("tap_facebook_pages.tap", "tap_facebook_pages.streams"))
            or m == "tap_facebook_pages.runtime"
            for m in imported
        ), (path, imported)


def test_nothing_below_streams_imports_the_tap() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name in {"tap.py", "cli.py", "__main__.py"}:
            continue
        assert "tap_facebook_pages.tap" not in _imports(path), path


def test_private_sdk_names_live_in_one_module() -> None:
    users = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if PRIVATE_SDK.search(p.read_text(encoding="utf-8"))
    )
    assert users == ["sdk_fastpath.py"]
