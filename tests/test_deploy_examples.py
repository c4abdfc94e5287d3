"""The deployment examples in deploy/ run every shard once, each with its own Meltano state ID.

Kubernetes is not here and Airflow is not installed: the manifest is parsed with PyYAML, and the
DAG file is compiled, then executed against a stand-in ``airflow`` package that records what the
DAG asks for (the mapped task's command and environments).
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_facebook_pages.config import resolve_shard_index

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "deploy" / "kubernetes" / "indexed-job.yaml"
DAG_FILE = ROOT / "deploy" / "airflow" / "facebook_pages_shards.py"
LOG = logging.getLogger("test-deploy")
LOG.disabled = True


def _state_suffix(args: list[str]) -> str:
    assert args.count("--state-id-suffix") == 1
    return args[args.index("--state-id-suffix") + 1]


def _expand(text: str, pattern: str, environ: dict[str, str]) -> str:
    """``text`` with the variables matched by ``pattern`` replaced from ``environ``."""
    return re.sub(pattern, lambda m: environ[m.group(1)], text)


# -- Kubernetes Indexed Job ---------------------------------------------------------------------


def _job() -> dict[str, Any]:
    job = yaml.safe_load(MANIFEST.read_text())
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    return job


def _container(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container


def test_the_indexed_job_runs_one_pod_per_shard() -> None:
    job = _job()
    spec = job["spec"]
    env = {e["name"]: e for e in _container(job)["env"]}
    shard_count = int(env["TAP_FACEBOOK_PAGES_SHARD_COUNT"]["value"])
    assert shard_count > 1
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == shard_count
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    # The index comes from Kubernetes, never from a fixed setting shared by every pod.
    assert "TAP_FACEBOOK_PAGES_SHARD_INDEX" not in env


def test_the_indexed_job_gives_each_shard_its_own_state_and_pages() -> None:
    job = _job()
    container = _container(job)
    args = container.get("command", []) + container.get("args", [])
    assert args[:2] == ["meltano", "run"]
    assert args[-2:] == ["tap-facebook-pages", "target-postgres"]
    suffix = _state_suffix(args)
    assert "$(JOB_COMPLETION_INDEX)" in suffix
    env = {e["name"]: e for e in container["env"]}
    shard_count = int(env["TAP_FACEBOOK_PAGES_SHARD_COUNT"]["value"])
    suffixes, indexes = set(), []
    for pod in range(job["spec"]["completions"]):  # what Kubernetes sets in each pod
        environ = {"JOB_COMPLETION_INDEX": str(pod)}
        suffixes.add(_expand(suffix, r"\$\((\w+)\)", environ))  # Kubernetes' $(VAR)
        indexes.append(resolve_shard_index({"shard_count": shard_count}, shard_count, environ, LOG))
    assert suffixes == {f"shard-{i}" for i in range(shard_count)}
    assert indexes == list(range(shard_count))


def test_the_indexed_job_reads_secrets_from_a_secret() -> None:
    env = {e["name"]: e for e in _container(_job())["env"]}
    for name in ("TAP_FACEBOOK_PAGES_ACCESS_TOKEN", "TAP_FACEBOOK_PAGES_APP_SECRET"):
        assert "value" not in env[name]
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "tap-facebook-pages"
        assert ref["key"]


# -- Airflow dynamic task mapping ---------------------------------------------------------------


class _Recorder:
    """Stand-in for BashOperator: records ``.partial(...)`` and ``.expand(...)``."""

    calls: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def __init__(self, partial: dict[str, Any]) -> None:
        self.partial_kwargs = partial

    @classmethod
    def partial(cls, **kwargs: Any) -> _Recorder:
        return cls(kwargs)

    def expand(self, **kwargs: Any) -> None:
        type(self).calls.append((self.partial_kwargs, kwargs))


def _dag(**_: Any) -> Any:
    def wrap(function: Any) -> Any:
        return function

    return wrap


@pytest.fixture
def fake_airflow(monkeypatch: pytest.MonkeyPatch) -> type[_Recorder]:
    _Recorder.calls = []
    modules = {
        name: types.ModuleType(name)
        for name in (
            "airflow",
            "airflow.sdk",
            "airflow.providers",
            "airflow.providers.standard",
            "airflow.providers.standard.operators",
            "airflow.providers.standard.operators.bash",
        )
    }
    modules["airflow.sdk"].dag = _dag  # type: ignore[attr-defined]
    modules["airflow.providers.standard.operators.bash"].BashOperator = _Recorder  # type: ignore[attr-defined]
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return _Recorder


def test_the_dag_file_compiles_and_maps_over_range_of_the_shard_count() -> None:
    source = DAG_FILE.read_text()
    tree = ast.parse(compile(source, str(DAG_FILE), "exec", flags=ast.PyCF_ONLY_AST))
    expands = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "expand"
    ]
    assert len(expands) == 1
    ranges = [
        node
        for node in ast.walk(expands[0])
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
    ]
    assert [ast.unparse(r) for r in ranges] == ["range(SHARD_COUNT)"]


def test_the_dag_runs_every_shard_once_with_its_own_state(fake_airflow: type[_Recorder]) -> None:
    namespace: dict[str, Any] = {"__name__": "facebook_pages_shards"}
    exec(compile(DAG_FILE.read_text(), str(DAG_FILE), "exec"), namespace)
    shard_count = namespace["SHARD_COUNT"]
    assert shard_count > 1
    ((partial, expanded),) = fake_airflow.calls
    environments = expanded["env"]
    assert len(environments) == shard_count
    assert partial["append_env"] is True
    args = partial["bash_command"].split()
    assert args[:2] == ["meltano", "run"]
    assert args[-2:] == ["tap-facebook-pages", "target-postgres"]
    suffix = _state_suffix(args)
    suffixes, indexes = set(), []
    for env in environments:
        assert env["TAP_FACEBOOK_PAGES_SHARD_COUNT"] == str(shard_count)
        suffixes.add(_expand(suffix, r"\$(\w+)", env))  # the shell's $VAR
        config = {
            "shard_count": shard_count,
            "shard_index": int(env["TAP_FACEBOOK_PAGES_SHARD_INDEX"]),
        }
        indexes.append(resolve_shard_index(config, shard_count, {}, LOG))
    assert indexes == list(range(shard_count))  # every shard, once
    assert suffixes == {f"shard-{i}" for i in range(shard_count)}  # distinct state IDs
