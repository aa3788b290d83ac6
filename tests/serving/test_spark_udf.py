"""``cairn.pyfunc.spark_udf`` on a real local Spark session (local[2]) with real models: a
scikit-learn model from the registry, custom models returning probabilities, frames and
params, and the ways of naming columns, result types and shipping the model.

One SparkSession serves the module (starting Spark takes seconds). Custom model classes are
defined inside functions so that cloudpickle stores them by value: Spark's Python workers
cannot import this test module.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'cairn[spark]')")
pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java: no java on PATH and no JAVA_HOME", allow_module_level=True)

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from sklearn.linear_model import LogisticRegression

import cairn
import cairn.pyfunc
import cairn.sklearn
from cairn.errors import CairnError
from cairn.models.signature import (
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)

ROWS = 200


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A small local Spark whose Python workers run this interpreter (where cairn is)."""
    base = tmp_path_factory.mktemp("spark")
    saved = {k: os.environ.get(k) for k in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cairn-spark-udf-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "512m")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.local.dir", str(base / "local"))
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"a": rng.random(ROWS), "b": rng.random(ROWS)})


@pytest.fixture(scope="module")
def fitted(data: pd.DataFrame) -> list[LogisticRegression]:
    """Two models that disagree on ``data``: a > 0.5 and b > 0.5."""
    models = [
        LogisticRegression(C=100).fit(data, (data.a > 0.5).astype(int)),
        LogisticRegression(C=100).fit(data, (data.b > 0.5).astype(int)),
    ]
    assert not np.array_equal(models[0].predict(data), models[1].predict(data))
    return models


@pytest.fixture(scope="module")
def sklearn_dir(tmp_path_factory: pytest.TempPathFactory, fitted, data) -> str:
    """The first model saved with a signature (inputs a, b: double; output: long)."""
    path = tmp_path_factory.mktemp("models") / "sklearn"
    cairn.sklearn.save_model(fitted[0], path, input_example=data.head(3))
    return str(path)


@pytest.fixture(scope="module")
def frame(spark: SparkSession, data: pd.DataFrame):  # type: ignore[no-untyped-def]
    """``data`` with an id column (in two partitions scored in batches of at most 50 rows)."""
    with_id = data.assign(id=np.arange(len(data)))
    return spark.createDataFrame(with_id[["id", "a", "b"]])


def _scores(df, column: str = "score") -> pd.Series:  # type: ignore[no-untyped-def]
    """The UDF's column in id order (Spark does not keep row order across partitions).

    Tests score one UDF per job: UDFs of different shapes in one select each take Python
    workers of their own at once, where one per job reuses the two that local[2] keeps."""
    rows = df.select("id", column).toPandas().sort_values("id")
    return rows[column].reset_index(drop=True)


def _save_custom(path: Path, model: Any, **kwargs: Any) -> str:
    cairn.pyfunc.save_model(path, python_model=model, **kwargs)
    return str(path)


# ----------------------------------------------------------------------------- the issue


def test_registered_alias_is_resolved_once_on_the_driver(spark, frame, fitted, data) -> None:
    for model in fitted:
        with cairn.start_run():
            info = cairn.sklearn.log_model(model, name="model", input_example=data.head(3))
        cairn.register_model(info.model_uri, "churn")
    client = cairn.RegistryClient()
    client.set_registered_model_alias("churn", "champion", 1)

    udf = cairn.pyfunc.spark_udf(spark, "models:/churn@champion", result_type="double")
    # The alias moves after the UDF exists: the UDF keeps the version it resolved, and the
    # executors never ask the tracking store (they would find version 2 there).
    client.set_registered_model_alias("churn", "champion", 2)
    moved = cairn.pyfunc.spark_udf(spark, "models:/churn@champion", result_type="double")
    # The snippet, verbatim (the id column is not the model's: columns go by name).
    scored = frame.withColumn("score", udf(*frame.columns))
    assert dict(scored.dtypes)["score"] == "double"
    np.testing.assert_array_equal(_scores(scored), fitted[0].predict(data).astype(float))
    np.testing.assert_array_equal(
        _scores(frame.withColumn("score", moved("a", "b"))), fitted[1].predict(data).astype(float)
    )


# ----------------------------------------------------------------------------- columns


def test_columns_by_name_by_struct_by_position_and_from_the_signature(
    spark, frame, sklearn_dir, fitted, data
) -> None:
    udf = cairn.pyfunc.spark_udf(spark, sklearn_dir, result_type="long")
    expected = fitted[0].predict(data)
    calls = {
        "names": udf("a", "b"),
        "names in another order": udf("b", "a"),  # the signature's names: matched by name
        "every column (with id)": udf(*frame.columns),
        "struct": udf(F.struct("a", "b")),
        "struct in another order": udf(F.struct("b", "a")),
        "columns in order": udf(F.col("a"), F.col("b")),
        "no arguments": udf(),
    }
    for how, call in calls.items():
        np.testing.assert_array_equal(_scores(frame.withColumn("score", call)), expected, how)
    # Columns passed by position are the model's columns in the signature's order.
    swapped = frame.withColumn("score", udf(F.col("b"), F.col("a")))
    np.testing.assert_array_equal(
        _scores(swapped), fitted[0].predict(data.rename(columns={"a": "b", "b": "a"})[["a", "b"]])
    )


def test_result_type_comes_from_the_signature_when_not_given(spark, frame, sklearn_dir) -> None:
    udf = cairn.pyfunc.spark_udf(spark, sklearn_dir)
    assert udf.result_type == T.LongType()
    assert dict(frame.withColumn("score", udf()).dtypes)["score"] == "bigint"
    assert udf.metadata.signature.inputs.input_names() == ["a", "b"]


def test_wrong_argument_counts_fail_on_the_driver(spark, tmp_path, sklearn_dir, fitted) -> None:
    udf = cairn.pyfunc.spark_udf(spark, sklearn_dir)
    with pytest.raises(CairnError, match=r"got 3 columns but the model takes 2 \(a, b\)"):
        udf(F.col("a"), F.col("b"), F.col("id"))

    no_signature = str(tmp_path / "bare")
    cairn.sklearn.save_model(fitted[0], no_signature)
    bare = cairn.pyfunc.spark_udf(spark, no_signature, result_type="long")
    with pytest.raises(CairnError, match="no signature, so the UDF cannot know its columns"):
        bare()


def test_a_model_without_signature_gets_positional_columns(
    spark, frame, tmp_path, fitted, data
) -> None:
    """Fitted on an array (no feature names): the columns are numbered 0, 1 ..."""
    path = str(tmp_path / "bare")
    model = LogisticRegression(C=100).fit(data.to_numpy(), fitted[0].predict(data))
    cairn.sklearn.save_model(model, path)
    udf = cairn.pyfunc.spark_udf(spark, path, result_type="int")
    scored = frame.withColumn("score", udf("a", "b"))
    assert dict(scored.dtypes)["score"] == "int"
    np.testing.assert_array_equal(_scores(scored), model.predict(data.to_numpy()))


# ----------------------------------------------------------------------------- result types


def _proba_model(estimator: LogisticRegression) -> Any:
    class Proba(cairn.pyfunc.PythonModel):
        def __init__(self, estimator: LogisticRegression) -> None:
            self.estimator = estimator

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            return self.estimator.predict_proba(model_input)

    return Proba(estimator)


def _frame_model(estimator: LogisticRegression) -> Any:
    class LabelAndProba(cairn.pyfunc.PythonModel):
        def __init__(self, estimator: LogisticRegression) -> None:
            self.estimator = estimator

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            proba = self.estimator.predict_proba(model_input)
            return pd.DataFrame(
                {
                    "label": np.where(proba[:, 1] > 0.5, "yes", "no"),
                    "proba": list(proba),
                    "score": proba[:, 1],
                }
            )

    return LabelAndProba(estimator)


def test_array_result_for_a_multi_output_model(spark, frame, tmp_path, fitted, data) -> None:
    path = _save_custom(tmp_path / "proba", _proba_model(fitted[0]), input_example=data.head(3))
    expected = fitted[0].predict_proba(data)

    inferred = cairn.pyfunc.spark_udf(spark, path)  # the output schema: a (-1, 2) float64 tensor
    assert inferred.result_type == T.ArrayType(T.DoubleType())
    explicit = cairn.pyfunc.spark_udf(spark, path, result_type="array<float>")
    first = cairn.pyfunc.spark_udf(spark, path, result_type=T.DoubleType())  # leftmost column
    proba = _scores(frame.withColumn("score", inferred()))
    proba32 = _scores(frame.withColumn("score", explicit("a", "b")))
    p0 = _scores(frame.withColumn("score", first("a", "b")))
    np.testing.assert_allclose(np.stack(proba.to_numpy()), expected, rtol=1e-12)
    np.testing.assert_allclose(np.stack(proba32.to_numpy()), expected, rtol=1e-6)
    np.testing.assert_array_equal(p0.to_numpy(), expected[:, 0])


def test_an_array_column_feeds_a_tensor_model(spark, frame, tmp_path, fitted, data) -> None:
    """A model taking a (-1, 2) tensor gets one array column, its rows stacked."""
    on_arrays = LogisticRegression(C=100).fit(data.to_numpy(), fitted[0].predict(data))
    tensor = Schema([TensorSpec(np.float64, (-1, 2))])
    signature = ModelSignature(inputs=tensor, outputs=tensor)
    path = _save_custom(tmp_path / "tensor", _proba_model(on_arrays), signature=signature)
    udf = cairn.pyfunc.spark_udf(spark, path)
    assert udf.result_type == T.ArrayType(T.DoubleType())
    scored = frame.withColumn("proba", udf(F.array("a", "b")))
    np.testing.assert_allclose(
        np.stack(_scores(scored, "proba").to_numpy()),
        on_arrays.predict_proba(data.to_numpy()),
        rtol=1e-12,
    )


def test_struct_result_takes_the_fields_by_name(spark, frame, tmp_path, fitted, data) -> None:
    path = _save_custom(tmp_path / "frame", _frame_model(fitted[0]))
    udf = cairn.pyfunc.spark_udf(
        spark, path, result_type="label string, proba array<double>, score float"
    )
    scored = frame.withColumn("out", udf(F.struct("a", "b")))
    out = scored.select("id", "out.label", "out.proba", "out.score").toPandas()
    out = out.sort_values("id").reset_index(drop=True)
    proba = fitted[0].predict_proba(data)
    assert list(out["label"]) == ["yes" if p > 0.5 else "no" for p in proba[:, 1]]
    np.testing.assert_allclose(np.stack(out["proba"].to_numpy()), proba, rtol=1e-12)
    np.testing.assert_allclose(out["score"].to_numpy(), proba[:, 1], rtol=1e-6)

    # A string asks for the leftmost column, whatever its type.
    labels = cairn.pyfunc.spark_udf(spark, path, result_type="string")
    assert list(_scores(frame.withColumn("score", labels(F.struct("a", "b"))))) == list(
        out["label"]
    )


def test_result_types_that_cannot_hold_the_predictions(spark, frame, tmp_path, fitted) -> None:
    path = _save_custom(tmp_path / "frame", _frame_model(fitted[0]))
    for bad, why in [
        ("map<string, double>", "result_type must be a primitive type"),
        ("array<array<double>>", "result_type must be a primitive type"),
        ("binary", "result_type must be a primitive type"),
        ("doubel", "'doubel' is not a Spark type"),
    ]:
        with pytest.raises(CairnError, match=why):
            cairn.pyfunc.spark_udf(spark, path, result_type=bad)
    with pytest.raises(CairnError, match="result_type must be a pyspark DataType"):
        cairn.pyfunc.spark_udf(spark, path, result_type=3)

    # Known from the signature: a string-returning model cannot fill a double, refused now.
    strings = _save_custom(
        tmp_path / "strings",
        _frame_model(fitted[0]),
        signature=ModelSignature(
            inputs=Schema([ColSpec("double", "a"), ColSpec("double", "b")]),
            outputs=Schema([ColSpec("string", "label")]),
        ),
    )
    with pytest.raises(CairnError, match="'double' cannot hold this model's predictions"):
        cairn.pyfunc.spark_udf(spark, strings, result_type="double")

    # Only known from the values: the executors' error names the problem.
    int_field = cairn.pyfunc.spark_udf(spark, path, result_type="label int")
    with pytest.raises(Exception, match="Field 'label' is int but the model's 'label'"):
        frame.withColumn("out", int_field(F.struct("a", "b"))).collect()
    missing = cairn.pyfunc.spark_udf(spark, path, result_type="margin double")
    with pytest.raises(Exception, match="has a field 'margin' the model's predictions do not"):
        frame.withColumn("out", missing(F.struct("a", "b"))).collect()


# ----------------------------------------------------------------------------- params


def _scaled_model() -> Any:
    class Scaled(cairn.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            return (model_input["a"] * params["scale"]).to_numpy()

    return Scaled()


def test_params_reach_every_batch_and_are_checked_on_the_driver(
    spark, frame, tmp_path, data
) -> None:
    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "a")]),
        outputs=Schema([ColSpec("double")]),
        params=ParamSchema([ParamSpec("scale", "double", 1.0)]),
    )
    path = _save_custom(tmp_path / "scaled", _scaled_model(), signature=signature)
    default = cairn.pyfunc.spark_udf(spark, path)
    doubled = cairn.pyfunc.spark_udf(spark, path, params={"scale": 2.0})
    one = _scores(frame.withColumn("score", default("a")))
    two = _scores(frame.withColumn("score", doubled("a")))
    np.testing.assert_array_equal(one.to_numpy(), data.a.to_numpy())
    np.testing.assert_array_equal(two.to_numpy(), data.a.to_numpy() * 2)
    with pytest.raises(CairnError, match="scale"):
        cairn.pyfunc.spark_udf(spark, path, params={"scale": "big"})


# ----------------------------------------------------------------------------- shipping


def _counting_model(estimator: LogisticRegression, log: Path) -> Any:
    class Counted(cairn.pyfunc.PythonModel):
        def __init__(self, estimator: LogisticRegression, log: str) -> None:
            self.estimator = estimator
            self.log = log

        def load_context(self, context: Any) -> None:
            with open(self.log, "a") as handle:
                handle.write(f"{os.getpid()}\n")

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            return self.estimator.predict(model_input)

    return Counted(estimator, str(log))


def test_each_python_worker_loads_the_model_once(spark, frame, tmp_path, fitted, data) -> None:
    log = tmp_path / "loads.txt"
    path = _save_custom(tmp_path / "counted", _counting_model(fitted[0], log), input_example=data)
    log.unlink()  # the save ran load_context once to infer the signature
    udf = cairn.pyfunc.spark_udf(spark, path, result_type="long")
    four = frame.repartition(4)
    for _ in range(2):  # two jobs of 4 tasks, 200 rows in batches of at most 50
        np.testing.assert_array_equal(
            _scores(four.withColumn("score", udf())), fitted[0].predict(data)
        )
    loads = log.read_text().split()
    # No worker loads it twice, so fewer loads than the 8 tasks (Spark reuses its workers).
    assert len(set(loads)) == len(loads) < 8, loads


def test_the_model_can_travel_as_an_archive_of_spark_files(
    spark, frame, sklearn_dir, fitted, data
) -> None:
    """What a cluster does (the master here is local, so the archive route is asked for)."""
    from pyspark import SparkFiles

    udf = cairn.pyfunc.spark_udf(spark, sklearn_dir, result_type="long", _ship_archive=True)
    np.testing.assert_array_equal(
        _scores(frame.withColumn("score", udf())), fitted[0].predict(data)
    )
    unpacked = list(Path(SparkFiles.getRootDirectory()).glob("cairn-model-*.tar.gz.unpacked"))
    assert unpacked and (unpacked[0] / "model" / "MLmodel").is_file()


def test_extra_env_is_set_around_scoring(spark, frame, tmp_path) -> None:
    class Env(cairn.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            return [os.environ.get("CAIRN_SPARK_TEST", "unset")] * len(model_input)

    path = _save_custom(tmp_path / "env", Env())
    udf = cairn.pyfunc.spark_udf(
        spark, path, result_type="string", extra_env={"CAIRN_SPARK_TEST": "set"}
    )
    assert set(_scores(frame.withColumn("score", udf("a", "b")))) == {"set"}


def test_bad_arguments_are_clear(spark, tmp_path, sklearn_dir) -> None:
    with pytest.raises(CairnError, match="unknown env_manager 'conda'"):
        cairn.pyfunc.spark_udf(spark, sklearn_dir, env_manager="conda")
    with pytest.raises(CairnError, match="No model at"):
        cairn.pyfunc.spark_udf(spark, str(tmp_path / "nothing"))
    with pytest.raises(CairnError, match="no registered model named 'nope'"):
        cairn.pyfunc.spark_udf(spark, "models:/nope@champion")


# ----------------------------------------------------------------------------- environments


@pytest.mark.slow
def test_env_manager_scores_in_the_models_recreated_environment(
    spark, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The model runs in the virtualenv built from its python_env.yaml (shared with the
    prepare-env tests, so it is built once per session), answering over pipes."""
    from model_envs import built_env

    env = built_env(tmp_path_factory)
    model = cairn.pyfunc.load_model(env.model_dir)
    rows = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 0.5, 2.5], "b": [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]})
    df = spark.createDataFrame(rows.assign(id=np.arange(len(rows))))
    udf = cairn.pyfunc.spark_udf(
        spark, str(env.model_dir), env_manager="virtualenv", env_root=env.env_root
    )
    np.testing.assert_array_equal(_scores(df.withColumn("score", udf())), model.predict(rows))
    broken = cairn.pyfunc.spark_udf(
        spark,
        str(env.model_dir),
        result_type="long",
        env_manager="virtualenv",
        env_root=env.env_root,
    )
    with pytest.raises(Exception, match="The model failed in its environment"):
        df.withColumn("score", broken(F.col("b"))).collect()  # column 'a' is missing
