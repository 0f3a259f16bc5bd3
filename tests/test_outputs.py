"""Every replay output saved before the virtual layout (tests/outputs, issue 8) is reproduced
byte for byte: the order of the steps, their ids, names, formulas and numbers, the layer view,
breakpoint landings, the Markdown export and the cross-check."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "outputs"))
import cases  # noqa: E402


@pytest.mark.parametrize("name", list(cases.CASES))
def test_output_is_byte_identical_to_the_saved_one(name):
    args = cases.CASES[name]
    if "check" in args or "--check" in args:
        pytest.importorskip("torch")
    assert cases.run(args) == cases.saved(name)
