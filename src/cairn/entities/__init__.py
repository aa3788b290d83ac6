"""Plain immutable data: what the stores return and the clients hand to users. No I/O here."""

from cairn.entities.dataset import Dataset, DatasetInput, InputTag, RunInputs
from cairn.entities.experiment import Experiment, ExperimentTag, LifecycleStage
from cairn.entities.logged_model import (
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOutput,
    LoggedModelStatus,
)
from cairn.entities.metric import Metric, MetricHistory
from cairn.entities.paged import PagedList
from cairn.entities.run import Param, Run, RunData, RunInfo, RunStatus, RunTag, ViewType

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelMetric",
    "LoggedModelOutput",
    "LoggedModelStatus",
    "Metric",
    "MetricHistory",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
