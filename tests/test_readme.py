"""README.md's Python examples run as pasted: every ```python block, in order, as one script
(later blocks use names the earlier ones define), in a fresh interpreter and directory.

A block is left out only when the line before its fence is `<!-- readme-test: skip -->`
(for examples too slow or needing files a reader has and the test has not); shell blocks
are not run (the CLI tests cover those commands).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
SKIP_MARKER = "<!-- readme-test: skip -->"


def python_blocks(text: str) -> list[str]:
    blocks = []
    for match in re.finditer(r"```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        line_before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if line_before.strip() != SKIP_MARKER:
            blocks.append(match.group(1))
    return blocks


def test_the_readme_python_examples_run_as_pasted(tmp_path):
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 3  # the converter, layout and quantization examples
    script = tmp_path / "readme_examples.py"
    script.write_text("\n".join(blocks))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "resnet18.tflite").is_file()
