"""Local pipelines: declared steps from an allow-list, runs and logs recorded in SQLite."""

from nova_app.tools.pipelines.runner import (
    PipelineRunner,
    PipelineSpec,
    StepSpec,
    load_pipelines,
)
from nova_app.tools.pipelines.steps import STEPS, StepFailed, StepRun

__all__ = [
    "STEPS",
    "PipelineRunner",
    "PipelineSpec",
    "StepFailed",
    "StepRun",
    "StepSpec",
    "load_pipelines",
]
