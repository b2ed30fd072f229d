"""What a failed job finds out on its own before it reports.

A job that fails to convert runs `edgebatch.debug.find_culprits` and keeps each culprit's
standalone repro; a job that fails validation runs `find_accuracy_culprits` and keeps the
ops where the error jumps. Both are bounded by `diagnosis.timeout_s` (what was found by
then is kept) and never change the job's verdict: a diagnosis that fails says why.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from contextlib import contextmanager

from edgebatch.batch.result import AccuracyCulpritRecord, CulpritRecord, Diagnosis, LayerError
from edgebatch.batch.stages import JobState, validation_tolerance
from edgebatch.errors import first_line

log = logging.getLogger("edgebatch.batch")

CONVERSION_ERRORS = ("UnsupportedOpError", "LoweringError", "ConversionError")
ACCURACY_ERRORS = ("ValidationError",)


class _OutOfTime(BaseException):
    """Not an Exception: the culprit finders treat any Exception of a region as that
    region failing and go on searching, which would swallow the deadline."""


def applies(state: JobState, error: BaseException) -> bool:
    kind = type(error).__name__
    return bool(state.signatures) and (
        kind in CONVERSION_ERRORS or (kind in ACCURACY_ERRORS and state.model is not None))


def diagnose(state: JobState, error: BaseException) -> Diagnosis:
    """The diagnosis of `error`, which ended the job at its convert or validate stage."""
    limits = state.cfg.diagnosis
    conversion = type(error).__name__ in CONVERSION_ERRORS
    diagnosis = Diagnosis(kind="conversion" if conversion else "accuracy")
    start = time.perf_counter()
    try:
        with _deadline(limits.timeout_s):
            if conversion:
                _find_culprits(state, diagnosis, limits.max_culprits)
            else:
                _find_accuracy_culprits(state, diagnosis, limits.max_culprits)
    except _OutOfTime:
        diagnosis.timed_out = True
    except Exception as failure:  # the diagnosis is a bonus: never worse than no diagnosis
        diagnosis.error = f"{type(failure).__name__}: {first_line(failure)}"
    diagnosis.seconds = round(time.perf_counter() - start, 3)
    found = len(diagnosis.culprits) + len(diagnosis.accuracy_culprits)
    log.info("[%s] diagnosis: %d %s culprit(s) in %.1f s%s", state.result.name, found,
             diagnosis.kind, diagnosis.seconds, " (out of time)" if diagnosis.timed_out else "")
    return diagnosis


def _find_culprits(state: JobState, diagnosis: Diagnosis, limit: int) -> None:
    from edgebatch.debug import find_culprits

    for sig in state.signatures:
        for culprit in find_culprits(sig.module, sig.args, kwargs=sig.kwargs):
            diagnosis.culprits.append(CulpritRecord(
                signature=sig.name, op=culprit.op, source=culprit.source,
                error=f"{type(culprit.error).__name__}: {first_line(culprit.error)}",
                repro=culprit.print_code(print_output=False)))
            if len(diagnosis.culprits) >= limit:
                return
        if diagnosis.culprits:  # signatures sharing a module share its culprits
            return


def _find_accuracy_culprits(state: JobState, diagnosis: Diagnosis, limit: int) -> None:
    from edgebatch.debug import compare_intermediates

    tolerance = validation_tolerance(state)
    for sig in state.signatures:
        comparison = compare_intermediates(sig.module, sig.args, sig.kwargs,
                                           quant_config=state.quant_config,
                                           atol=tolerance.atol, rtol=tolerance.rtol)
        if not diagnosis.layer_errors:
            diagnosis.layer_errors = [
                LayerError(node=n.node, op=n.op,
                           conversion=n.conversion.ratio if n.conversion else None,
                           quantization=n.quantization.ratio if n.quantization else None)
                for n in comparison.nodes]
        diagnosis.accuracy_culprits += [
            AccuracyCulpritRecord(signature=sig.name, node=c.node, op=c.op, source=c.source,
                                  cause=c.cause, error_before=c.error_before,
                                  error_after=c.error_after, tolerance=c.tolerance)
            for c in comparison.culprits()[:limit - len(diagnosis.accuracy_culprits)]]
        if len(diagnosis.accuracy_culprits) >= limit:
            return


@contextmanager
def _deadline(seconds: float | None):
    """Raise _OutOfTime in this thread after `seconds` (only the main thread gets signals;
    elsewhere the job's own limit still applies)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def out_of_time(signum, frame):
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
