"""The model registry, cairn vs MLflow: each tool's own client, embedded on SQLite and against
its own server (SQLite behind it).

Each tool runs in its own process (cairn's venv / the MLflow venv) with the same function body
driving its client (``TrackingClient`` / ``MlflowClient``, which share the registry's method
names). Embedded, the process first builds the data it then searches:

- 1,000 registered models, tagged ``team=t<i % 10>``, with 10 versions each (10,000
  versions), all registered from one run's ``model`` directory (its artifact URI,
  as ``mlflow.register_model("runs:/<run>/model")`` stores it): the latency of every
  ``create_model_version`` is recorded (p50);
- ``set_registered_model_alias`` and ``get_model_version_by_alias``, 200 calls each (p50);
- resolving ``models:/<name>@<alias>`` to the download URI with each tool's resolver (cairn
  ``models.uri.model_artifact_location``, MLflow ``ModelsArtifactRepository.get_underlying_uri``)
  (p50);
- ``search_model_versions``: one model's versions (``name = '...'``), and a page of 10,000
  without a filter (all of them embedded; the server has the 300 versions it added too);
  ``search_registered_models`` with ``tags.team = 't3'`` (a tenth of the models), 100 a page:
  medians after a warm-up.

Then ``cairn server`` (1 worker) / ``mlflow server`` (4 workers, its default) are started on the
database just built and a second process repeats every measurement over HTTP, registering its
versions to a fresh model. ``--quick``: 100 models (1,000 versions) and fewer calls (``QUICK``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import MISSING, CallFailed, Row, bench_main, call_mlflow, call_python, log

SCRIPT = Path(__file__).resolve()
FULL = {"models": 1000, "versions_per_model": 10, "alias_calls": 200, "repeats": 7}
QUICK = {"models": 100, "versions_per_model": 10, "alias_calls": 50, "repeats": 3}
SERVER_VERSIONS = {"full": 300, "quick": 50}
QUICK_MODE = False  # set by --quick
TAG_FILTER = "tags.team = 't3'"


# ----------------------------------------------------------------------------- one tool


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


def _each(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _measure(
    client: Any,
    resolve: Callable[[str], str],
    *,
    models: int,
    versions_per_model: int,
    alias_calls: int,
    repeats: int,
    build: bool,
    new_versions: int,
) -> dict[str, Any]:
    """Every measurement, against ``client``; ``build`` first makes the searchable data."""
    exp = client.create_experiment(f"registry-bench-{time.time_ns()}")
    run_id = client.create_run(exp).info.run_id
    client.log_text(run_id, "artifact_path: model\nflavors: {}\n", "model/MLmodel")
    # What mlflow.register_model("runs:/<run>/model") stores: the files' place in the run.
    source = client.get_run(run_id).info.artifact_uri.rstrip("/") + "/model"
    out: dict[str, Any] = {}

    creates: list[float] = []
    if build:
        built = time.perf_counter()
        for i in range(models):
            name = f"model-{i:04d}"
            client.create_registered_model(name, tags={"team": f"t{i % 10}"})
            for _ in range(versions_per_model):
                t0 = time.perf_counter()
                client.create_model_version(name, source, run_id=run_id)
                creates.append(time.perf_counter() - t0)
        out["build_s"] = time.perf_counter() - built
    else:
        client.create_registered_model("served-bench")
        for _ in range(new_versions):
            t0 = time.perf_counter()
            client.create_model_version("served-bench", source, run_id=run_id)
            creates.append(time.perf_counter() - t0)
    out["create"] = _p50(creates)
    out["creates"] = len(creates)

    name = "model-0003"
    versions = list(range(1, versions_per_model + 1))
    sets = []
    for i in range(alias_calls):
        version = versions[i % len(versions)]
        t0 = time.perf_counter()
        client.set_registered_model_alias(name, "champion", version)
        sets.append(time.perf_counter() - t0)
    out["set_alias"] = _p50(sets)
    out["get_by_alias"] = _p50(
        _each(lambda: client.get_model_version_by_alias(name, "champion"), alias_calls)
    )
    uri = f"models:/{name}@champion"
    out["resolved"] = resolve(uri)
    out["resolve"] = _p50(_each(lambda: resolve(uri), alias_calls))

    def one_model() -> int:
        return len(client.search_model_versions(f"name = '{name}'"))

    def all_versions() -> int:
        return len(client.search_model_versions(max_results=10_000))

    def tagged() -> int:
        return len(client.search_registered_models(TAG_FILTER, max_results=100))

    for key, fn in (("search_one", one_model), ("search_all", all_versions), ("tagged", tagged)):
        out[f"{key}_n"] = fn()  # warm-up, and the count to check both tools agree
        out[key] = _p50(_each(fn, repeats))
    return out


def cairn_trial(uri: str, build: bool, new_versions: int = 0, **sizes: int) -> dict[str, Any]:
    from cairn.models.uri import model_artifact_location
    from cairn.tracking.client import TrackingClient

    def resolve(model_uri: str) -> str:
        root, path = model_artifact_location(model_uri, uri)
        return f"{root}/{path}" if path else root

    client = TrackingClient(uri)
    return _measure(client, resolve, build=build, new_versions=new_versions, **sizes)


def mlflow_trial(uri: str, build: bool, new_versions: int = 0, **sizes: int) -> dict[str, Any]:
    import logging

    import mlflow
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    resolve = ModelsArtifactRepository.get_underlying_uri
    return _measure(client, resolve, build=build, new_versions=new_versions, **sizes)


# ----------------------------------------------------------------------------- both tools


def _tool(tool: str, sizes: dict[str, int], new_versions: int, work: Path) -> dict[str, Any]:
    """Embedded, then against the tool's server on the same database: {"local", "served"}."""
    from bench_server_tracking import server

    uri = f"sqlite:///{work / f'{tool}.db'}"

    def call(**kwargs: Any) -> dict[str, Any]:
        if tool == "cairn":
            return call_python(sys.executable, SCRIPT, "cairn_trial", cwd=work, **kwargs)
        return call_mlflow(SCRIPT, "mlflow_trial", cwd=work, **kwargs)

    local = call(uri=uri, build=True, **sizes)
    log(f"{tool} embedded: {_brief(local)}")
    with server(tool, uri, work, 1 if tool == "cairn" else 4) as port:
        served = call(uri=f"http://127.0.0.1:{port}", build=False, new_versions=new_versions,
                      **sizes)  # fmt: skip
    log(f"{tool} server: {_brief(served)}")
    return {"local": local, "served": served}


def _brief(result: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v * 1000:.2f}ms" if isinstance(v, float) and not k.endswith("_s") else f"{k}={v}"
        for k, v in result.items()
    )


def run() -> list[Row]:
    sizes = QUICK if QUICK_MODE else FULL
    new_versions = SERVER_VERSIONS["quick" if QUICK_MODE else "full"]
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        root = Path(tmp)
        (root / "cairn").mkdir()
        (root / "mlflow").mkdir()
        cairn = _tool("cairn", sizes, new_versions, root / "cairn")
        mlflow: dict[str, Any] | None
        try:
            mlflow = _tool("mlflow", sizes, new_versions, root / "mlflow")
        except (CallFailed, RuntimeError) as exc:
            log(str(exc))
            mlflow = None
    return _rows(cairn, mlflow, sizes)


def _rows(cairn: dict[str, Any], mlflow: dict[str, Any] | None, sizes: dict[str, int]) -> list[Row]:
    total = sizes["models"] * sizes["versions_per_model"]
    for where in ("local", "served"):
        for key in ("search_one_n", "search_all_n", "tagged_n"):
            if mlflow is not None and cairn[where][key] != mlflow[where][key]:
                log(f"DIFFERENT RESULTS {where} {key}: cairn {cairn[where][key]}, "
                    f"mlflow {mlflow[where][key]}")  # fmt: skip
    rows = []
    for where, place in (("local", "embedded SQLite"), ("served", "server")):
        n = cairn[where]["search_all_n"]
        labels = {
            "create": "create_model_version, p50",
            "set_alias": "set_registered_model_alias, p50",
            "get_by_alias": "get_model_version_by_alias, p50",
            "resolve": "models:/<name>@<alias> -> download URI, p50",
            "search_one": f"search_model_versions name = '...' ({sizes['versions_per_model']} "
            f"of {n:,})",
            "search_all": f"search_model_versions, a page of {n:,} (no filter)",
            "tagged": f"search_registered_models {TAG_FILTER} ({sizes['models'] // 10} of "
            f"{sizes['models'] + (where == 'served'):,}, 100 a page)",
        }
        for key, label in labels.items():
            theirs = MISSING if mlflow is None else mlflow[where][key]
            note = ""
            if key == "create" and where == "local":
                note = (
                    f"p50 over the {total:,} versions registered to build the data "
                    f"(cairn built it in {cairn['local']['build_s']:.0f} s"
                    + ("" if mlflow is None else f", MLflow in {mlflow['local']['build_s']:.0f} s")
                    + "); source: the run's artifact URI + /model"
                )
            if key == "create" and where == "served":
                note = (
                    "cairn server 1 worker, mlflow server 4 workers, each on the database its "
                    f"embedded half built; {cairn['served']['creates']} versions to a new model"
                )
            rows.append(Row(f"registry {place}: {label}", cairn[where][key], theirs, "ms",
                            note=note))  # fmt: skip
    return rows


if __name__ == "__main__":
    if "--quick" in sys.argv:  # ours; bench_main's parser knows only --json
        sys.argv.remove("--quick")
        QUICK_MODE = True
    bench_main(run, __doc__ or "")
