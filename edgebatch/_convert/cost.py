"""What each stage of one conversion costs: wall seconds and peak resident memory.

The stages: `export` (torch.export), `passes` (our FX passes), `lower` (building the
TensorFlow functions), `tflite` (TensorFlow's TFLite converter) and `postprocess` (our
flatbuffer rewrites). A multi-signature conversion adds up each stage's seconds over the
signatures and keeps the largest peak.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from edgebatch.memory import PeakRss


@dataclass
class StageCost:
    stage: str
    seconds: float
    peak_rss_mb: float


class CostMeter:
    def __init__(self):
        self._stages: dict[str, StageCost] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        with PeakRss() as peak:
            yield
        seconds = time.perf_counter() - start
        known = self._stages.get(name)
        if known is None:
            self._stages[name] = StageCost(name, seconds, peak.mb)
        else:
            known.seconds += seconds
            known.peak_rss_mb = max(known.peak_rss_mb, peak.mb)

    def report(self) -> list[dict]:
        return [
            asdict(StageCost(s.stage, round(s.seconds, 3), round(s.peak_rss_mb, 1)))
            for s in self._stages.values()
        ]
