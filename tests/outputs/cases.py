"""Replay outputs saved before the virtual layout (issue 8), compared byte for byte by
``tests/test_outputs.py``. ``python tests/outputs/cases.py --write`` writes them anew: do that only
when an issue asks for an output to change, and say so in the commit."""

import gzip
import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCN = HERE / "scenarios"

_WALK = ("step 3; next 2; finish; rfinish; rstep 2; rnext; watch E; step 4; print E; print dE/dW[1,1,1]; "
         "break E if value < 10; breaks; continue; rcontinue; delete; goto epoch 0 phase backward; where; "
         "finish; finish; goto step 0; break phase update; continue; rcontinue; restart; expect E 1 tol 1000")
_LAYER = "view layer; step; step 3; next 2; finish; rstep; rnext; rfinish; goto epoch 1; step 4; where; view scalar; where"
_BREAKS = ("break dE/dW[1,1,1]@1; continue; continue; rcontinue; delete; break phase update; continue; continue; "
           "rcontinue; delete; break a[1,1] if value > 0.5 and not abs(z[1,1]) < 0.01; continue; continue; rcontinue")

#: name → replay arguments (scenario first)
CASES = {
    "worked-222-text": ["worked-222"],
    "worked-222-jsonl": ["worked-222", "--format", "jsonl"],
    "worked-222-markdown": ["worked-222", "--format", "markdown"],
    "worked-222-walk": ["worked-222", "--trace", "-c", _WALK],
    "worked-222-layer": ["worked-222", "--trace", "-c", _LAYER],
    "worked-222-layer-jsonl": ["worked-222", "--format", "jsonl", "-c", _LAYER],
    "worked-222-breaks": ["worked-222", "--trace", "-c", _BREAKS],
    "worked-222-whatif": ["worked-222", "-c", "set W[2,1,1] 0.6; set lr 1; goto W+[2,1,1]; print W+[1,1,1]; reset; where"],
    "xor-jsonl": ["xor", "--epochs", "2", "--format", "jsonl"],
    "xor-markdown": ["xor", "--format", "markdown", "-c", "goto epoch 3"],
    "xor-walk": ["xor", "--trace", "-c", _WALK.replace("goto epoch 0", "goto epoch 5200")],
    "xor-drop": ["xor", "-c", "break E if value < 0.5; continue; where; print E; rcontinue; where; delete; "
                 "break dE/dW[3,4,2] if abs(value) > 0.002; continue; rcontinue; continue"],
    "xor-layer": ["xor", "--epochs", "3", "--trace", "-c", _LAYER],
    "xor-layer-breaks": ["xor", "--epochs", "20", "-c", "view layer; " + _BREAKS.replace("a[1,1]", "a[2,3]")],
    "xor-end": ["xor", "-c", "goto epoch 10001; step 200; rstep 3; finish; where; print E"],
}
for name in ("seq", "flat-bce", "wide"):
    path = str(SCN / f"{name}.toml")
    CASES[f"{name}-report"] = ["check", "check", path]
    CASES[f"{name}-text"] = [path]
    CASES[f"{name}-jsonl"] = [path, "--format", "jsonl"]
    CASES[f"{name}-markdown"] = [path, "--format", "markdown", "-c", "goto epoch 1"]
    CASES[f"{name}-walk"] = [path, "--trace", "-c", _WALK]
    CASES[f"{name}-layer"] = [path, "--trace", "-c", _LAYER]
    CASES[f"{name}-layer-jsonl"] = [path, "--format", "jsonl", "-c", _LAYER]
    CASES[f"{name}-breaks"] = [path, "--trace", "-c", _BREAKS]
CASES["worked-222-report"] = ["check", "check", "worked-222"]
CASES["xor-report"] = ["check", "check", "xor", "--epochs", "300"]
CASES["worked-222-check"] = ["worked-222", "--check", "--format", "jsonl", "--trace", "-c", "finish; finish; view layer; next 3"]
CASES["seq-check"] = [str(SCN / "seq.toml"), "--check", "--trace", "-c", "finish; finish; next 40; view layer; next 9"]
CASES["diverging-nan"] = [str(SCN / "diverging.toml"), "--trace", "-c", "break nan; continue; where; rcontinue; "
                          "continue; continue; delete; goto epoch 8; rcontinue; break nan; rcontinue"]


def run(args) -> str:
    """The replay's stdout and stderr, and its exit code, as one text (``check ...``: the
    cross-check report instead)."""
    from bpstep.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args[1:] if args[0] == "check" else ["replay", *args])
    return f"{out.getvalue()}--- stderr\n{err.getvalue()}--- exit {code}\n"


def path(name) -> Path:
    return HERE / f"{name}.txt.gz"


def saved(name) -> str:
    return gzip.decompress(path(name).read_bytes()).decode("utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/outputs/cases.py --write  (overwrites the saved outputs)")
    sys.path.insert(0, str(HERE.parent.parent))
    for name, args in CASES.items():
        text = run(args)
        path(name).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
        print(f"{name}: {len(text)} characters, {text.count(chr(10))} lines")
