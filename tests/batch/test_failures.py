"""Error signatures are stable across runs and machines, and tell failures apart."""

from __future__ import annotations

from edgebatch.batch.failures import error_record, error_signature, normalise
from edgebatch.errors import ConversionError, UnsupportedOpError, ValidationError


def test_addresses_paths_lines_and_measured_floats_do_not_change_the_signature():
    a = ConversionError('failed at <object at 0x7f3a12> in /tmp/tmpab12/x.py:12, line 40: error 1.25e-3')
    b = ConversionError('failed at <object at 0x55ee99> in /home/ci/run/y.py:907, line 3: error 0.5')
    assert error_signature(a) == error_signature(b)
    assert "0x" not in normalise(str(a)).replace("0x?", "")


def test_class_and_message_tell_failures_apart():
    assert error_signature(ConversionError("op FOO failed")) != error_signature(ValidationError("op FOO failed"))
    assert error_signature(ConversionError("op FOO failed")) != error_signature(ConversionError("op BAR failed"))


def test_unsupported_op_is_identified_by_the_op_alone():
    one = UnsupportedOpError("aten.digamma.default", "/a/model.py:17 (x)", "digamma")
    two = UnsupportedOpError("aten.digamma.default", "/b/other.py:99 (y)", "digamma_3")
    other = UnsupportedOpError("aten.lgamma.default", "/a/model.py:17 (x)", "lgamma")
    assert error_signature(one) == error_signature(two) != error_signature(other)


def test_error_record_fields():
    record = error_record(ValidationError("too far"))
    assert record.model_dump(by_alias=True) == {
        "class": "ValidationError", "message": "too far", "log_tail": None,
        "signature": error_signature(ValidationError("too far"))}
    assert len(record.signature) == 16
