"""A Sluice step served by a Python Temporal worker.

Sluice's DAG workflow calls every activity step with one JSON argument (the step input: run, step,
params, runParams, inputs) and expects one JSON result ({"output": ..., "attempt": n}). Any Temporal
SDK can serve that: this worker registers the activity `scoreRoutes` on its own task queue
(`python-scoring`), and a pipeline names it with `activity: 'scoreRoutes', queue: 'python-scoring'`.

Run it (after examples/python-step/setup.sh), with the same SLUICE_HOME / SLUICE_ARTIFACTS as Sluice's
workers, since it reads datasets from their local artifact store by sha256:

    .sluice/venv/bin/python examples/python-step/worker.py --address 127.0.0.1:7233
"""

import argparse
import asyncio
import hashlib
import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor

import duckdb
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

TASK_QUEUE = "python-scoring"


def invalid(message: str) -> ApplicationError:
    """Bad input: not retried, with the same failure type Sluice's own steps use."""
    return ApplicationError(message, type="InvalidInputError", non_retryable=True)


def store_root() -> str:
    """The local artifact store Sluice writes to: SLUICE_ARTIFACTS, else <SLUICE_HOME>/artifacts (as Sluice resolves them)."""
    location = os.environ.get("SLUICE_ARTIFACTS")
    if location and location.startswith("s3://"):
        raise invalid(
            f"SLUICE_ARTIFACTS={location} is an S3 store; this example worker reads a local store only: "
            "run it where the store's directory is mounted and set SLUICE_ARTIFACTS to that directory"
        )
    if not location:
        location = os.path.join(os.environ.get("SLUICE_HOME", ".sluice"), "artifacts")
    return os.path.abspath(location)


ADDRESS = re.compile(r"^sluice://sha256/([0-9a-f]{64})$")
EXTENSIONS = {"parquet": "parquet", "json": "json", "html": "html", "md": "md", "svg": "svg", "tfjs": "tfjs", "tar": "tar"}


def open_artifact(ref: dict, step: str) -> str:
    """The local path of an artifact ref, after checking its bytes still hash to ref['sha256']."""
    uri = str(ref.get("uri", ""))
    match = ADDRESS.match(uri)
    if not match or match.group(1) != ref.get("sha256"):
        raise invalid(f'step "{step}": artifact ref {uri!r} is not a sluice://sha256/<hash> address matching its sha256')
    sha = match.group(1)
    extension = EXTENSIONS.get(str(ref.get("format")))
    if extension is None:
        raise invalid(f'step "{step}": artifact {sha} has format {ref.get("format")!r}, which this worker does not know')
    root = store_root()
    # The store's layout (lib/artifacts/layout.ts): <root>/<sha[0:2]>/<sha>.<ext>
    path = os.path.join(root, sha[:2], f"{sha}.{extension}")
    if not os.path.isfile(path):
        raise invalid(
            f'step "{step}": artifact {sha} is not in the store {root} (no {path}): '
            "set SLUICE_HOME or SLUICE_ARTIFACTS to the store Sluice's workers write"
        )
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != sha:
        raise invalid(f'step "{step}": artifact {path} does not hash to {sha}: the store was changed')
    return path


HAVERSINE_KM = """
  2 * 6371 * asin(sqrt(
    pow(sin(radians(destination_lat - origin_lat) / 2), 2) +
    cos(radians(origin_lat)) * cos(radians(destination_lat)) *
    pow(sin(radians(destination_lon - origin_lon) / 2), 2)))
"""


@activity.defn(name="scoreRoutes")
def score_routes(step_input: dict) -> dict:
    """Score each route of the upstream dataset by flights per 1,000 km and return the top ones."""
    step = step_input.get("step", "score")
    params = step_input.get("params") or {}
    source = params.get("from", "features")
    top = params.get("top", 5)
    if not isinstance(top, int) or not 1 <= top <= 100:
        raise invalid(f'step "{step}": params.top must be an integer from 1 to 100, got {top!r}')
    upstream = (step_input.get("inputs") or {}).get(source)
    ref = upstream.get("dataset") if isinstance(upstream, dict) else None
    if not isinstance(ref, dict):
        raise invalid(f'step "{step}": params.from "{source}" must name a dependency whose output has a "dataset" ref')
    path = open_artifact(ref, step)
    activity.heartbeat({"reading": ref["sha256"]})
    with duckdb.connect() as db:
        scored = f"""
          SELECT origin, destination, count, round({HAVERSINE_KM}, 1) AS km,
                 round(count / greatest({HAVERSINE_KM}, 1) * 1000, 3) AS score
          FROM read_parquet(?)
        """
        rows = db.execute(f"SELECT * FROM ({scored}) ORDER BY score DESC, origin, destination LIMIT ?", [path, top]).fetchall()
        total, mean = db.execute(f"SELECT count(*), round(avg(score), 3) FROM ({scored})", [path]).fetchone()
    routes = [
        {"origin": o, "destination": d, "count": int(c), "km": float(km), "score": float(s)}
        for o, d, c, km, s in rows
    ]
    output = {"scoredBy": "python", "dataset": ref["sha256"], "routes": int(total), "meanScore": mean, "top": routes}
    return {"output": output, "attempt": activity.info().attempt}


async def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Sluice step scoreRoutes")
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    args = parser.parse_args()
    client = await Client.connect(args.address, namespace=args.namespace)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=4) as executor:
        worker = Worker(client, task_queue=args.task_queue, activities=[score_routes], activity_executor=executor)
        async with worker:
            print(f"python worker started on task queue {args.task_queue}", flush=True)
            await stop.wait()
    print("python worker stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
