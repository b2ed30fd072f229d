"""The job result's schema: the checked-in JSON Schema matches the model, and files round-trip."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from edgebatch.batch.failures import error_record
from edgebatch.batch.result import Errors, JobResult
from edgebatch.errors import JobCrashError

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "result.schema.json"


def test_the_checked_in_schema_is_the_models():
    assert json.loads(SCHEMA.read_text()) == JobResult.json_schema(), (
        "regenerate: python -c 'from edgebatch.batch.result import JobResult; "
        "JobResult.write_json_schema(\"docs/result.schema.json\")'")


def test_a_result_round_trips_through_its_file_with_inf_and_nan(tmp_path):
    result = JobResult(name="m", status="failed", stage="convert",
                       error=error_record(JobCrashError("killed by SIGSEGV")))
    errors = Errors(max_abs=1.0, mean_abs=0.5, rel_error=math.inf, rmse=math.nan, cosine=0.0,
                    passed=False)
    result.write(tmp_path)
    again = JobResult.read(tmp_path)
    assert again == result
    assert json.loads((tmp_path / "result.json").read_text())["error"]["class"] == "JobCrashError"
    assert math.isinf(Errors.model_validate_json(errors.model_dump_json()).rel_error)


def test_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="stauts"):
        JobResult.model_validate({"name": "m", "stauts": "ok"})
