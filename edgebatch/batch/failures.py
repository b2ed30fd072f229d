"""A failed job's error as a record: stage, class, message and a stable signature.

The signature hashes the error class with its message normalised, so the same failure
gets the same signature from run to run and machine to machine: addresses, file paths,
line numbers and measured floats are blanked; an unsupported op is identified by the
op alone.
"""

from __future__ import annotations

import hashlib
import re

from edgebatch.batch.result import ErrorRecord

_NORMALISE = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x?"),  # object addresses
    (re.compile(r'File "[^"]*", line \d+'), "File ?"),  # traceback lines
    (re.compile(r"(?:[A-Za-z]:)?(?:[\w.+-]*/)+[\w.+-]+(?::\d+)*"), "<path>"),  # paths, path:line
    (re.compile(r"\bline \d+"), "line ?"),
    (re.compile(r"[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+"), "<num>"),
    (re.compile(r"\s+"), " "),
]
MESSAGE_LIMIT = 4000


def normalise(message: str) -> str:
    for pattern, replacement in _NORMALISE:
        message = pattern.sub(replacement, message)
    return message.strip()[:500]


def error_signature(error: BaseException) -> str:
    """16 hex digits identifying the failure across runs."""
    op = getattr(error, "op", None)  # UnsupportedOpError: the op is the failure
    key = f"{type(error).__name__}\n{op if op else normalise(str(error))}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def error_record(error: BaseException) -> ErrorRecord:
    """The error as result.json and the registry's run record keep it."""
    message = str(error) or repr(error)
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + " …"
    return ErrorRecord(error_class=type(error).__name__, message=message,
                       signature=error_signature(error))
