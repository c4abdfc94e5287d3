"""Airflow: the Facebook Pages fleet as SHARD_COUNT mapped tasks, each with its own Meltano state.

Dynamic task mapping (Airflow >= 2.3) expands one BashOperator into a task per shard. Each task
runs the Meltano project with TAP_FACEBOOK_PAGES_SHARD_COUNT and its own
TAP_FACEBOOK_PAGES_SHARD_INDEX, and a state ID suffix of its own (…:shard-0, …:shard-1, …), so
the shards' bookmarks never collide. A page belongs to exactly one shard by a stable hash of its
id: together the tasks read every page once. A failed shard is retried alone.

Copy this file into your DAGs folder and set MELTANO_PROJECT to the project's directory on the
workers (tokens and passwords come from the workers' environment or Meltano's .env). Keep
Meltano's state where every worker sees it (MELTANO_DATABASE_URI or MELTANO_STATE_BACKEND_URI).
Meltano writes the extractor's catalog to one file in the project's .meltano/run/: shards running
at the same time need a project directory each (one worker or pod per task, as with the
KubernetesExecutor); tasks started together in one directory fail (exit 1) and are retried.
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import dag
except ImportError:  # Airflow 2
    from airflow.decorators import dag
    from airflow.operators.bash import BashOperator

SHARD_COUNT = 4
MELTANO_PROJECT = "/opt/meltano/project"
COMMAND = (
    "meltano run --state-id-suffix shard-$TAP_FACEBOOK_PAGES_SHARD_INDEX "
    "tap-facebook-pages target-postgres"
)


def shard_env(index: int) -> dict[str, str]:
    """The environment of shard ``index``: the settings that select its pages."""
    return {
        "TAP_FACEBOOK_PAGES_SHARD_COUNT": str(SHARD_COUNT),
        "TAP_FACEBOOK_PAGES_SHARD_INDEX": str(index),
    }


@dag(
    dag_id="facebook_pages_shards",
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=SHARD_COUNT,
    tags=["meltano", "facebook"],
)
def facebook_pages_shards() -> None:
    BashOperator.partial(
        task_id="meltano_run_shard",
        bash_command=COMMAND,
        cwd=MELTANO_PROJECT,
        append_env=True,  # keep the worker's PATH and secrets, add the shard's settings
        retries=2,
    ).expand(env=[shard_env(index) for index in range(SHARD_COUNT)])


facebook_pages_shards()
