"""Bad input: exit code 2, exactly one line on stderr that names the file (and
the field or line) and says what was expected, no traceback, nothing on stdout when nothing ran."""

import pytest

BASE = """\
title = "a small bce network"

[network]
sizes = [2, 2, 1]
activation = "sigmoid"
bias = true

[init]
weights = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]
biases = [[0.1, 0.2], [0.3]]

[data]
inputs = [[0.0, 1.0], [1.0, 0.0]]
targets = [[1.0], [0.0]]

[training]
loss = "bce"
learning_rate = 0.5
epochs = 2
"""

# label → (text to replace in BASE, replacement, what the message must contain)
SCENARIOS = {
    "toml syntax": ("sizes = [2, 2, 1]", "sizes = [2, 2, 1", ["TOML syntax error", "line 5"]),
    "toml duplicate key": ('bias = true', 'bias = true\nbias = false', ["TOML syntax error", "line 7"]),
    "weights: layers": ("[[0.5, 0.6]]]", "[[0.5, 0.6]], [[1.0]]]",
                        [":9:", "init.weights", "expected 2 matrices", "got 3"]),
    "weights: row": ("[[0.5, 0.6]]]", "[[0.5]]]", [":9:", "init.weights", "weights[1][0]", "expected a list of 2"]),
    "weights: not a list": ("weights = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]", "weights = 3",
                            [":9:", "init.weights", "expected 2 matrices", "got a number (3)"]),
    "biases: shape": ("biases = [[0.1, 0.2], [0.3]]", "biases = [[0.1], [0.3]]",
                      [":10:", "init.biases", "biases[0]", "expected a list of 2"]),
    "biases: missing": ("biases = [[0.1, 0.2], [0.3]]", "",
                        [":8:", "init", "missing required key 'biases'", "bias is true"]),
    "biases: not wanted": ("bias = true", "bias = false", [":10:", "init.biases", "network.bias is false"]),
    "inputs: width": ("[[0.0, 1.0], [1.0, 0.0]]", "[[0.0, 1.0, 2.0], [1.0, 0.0]]",
                      [":13:", "data.inputs", "inputs[0]", "expected a list of 2", "got 3 entries"]),
    "inputs: empty": ("inputs = [[0.0, 1.0], [1.0, 0.0]]", "inputs = []",
                      [":13:", "data.inputs", "expected a list of samples"]),
    "inputs: string": ("[[0.0, 1.0], [1.0, 0.0]]", '[[0.0, "a"], [1.0, 0.0]]',
                       [":13:", "inputs[0][1]", "expected a number", "a string ('a')"]),
    "targets: count": ("targets = [[1.0], [0.0]]", "targets = [[1.0]]",
                       [":14:", "data.targets", "expected a list of 2", "got 1 entries"]),
    "unknown top-level key": ('title = "a small bce network"', 'title = "x"\ncolour = "red"',
                              [":2:", "colour", "unknown key", "expected one of: data, description"]),
    "unknown key in [network]": ("bias = true", "bias = true\nbiass = 1",
                                 [":7:", "network.biass", "unknown key", "expected one of: activation, bias, sizes"]),
    "unknown key in [training]": ("epochs = 2", "epochs = 2\nlearningrate = 1",
                                  [":20:", "training.learningrate", "unknown key", "learning_rate"]),
    "unknown key in [init]": ("[init]", "[init]\nsed = 3", [":9:", "init.sed", "unknown key", "seed"]),
    "unknown activation": ('"sigmoid"', '"swish"',
                           [":5:", "network.activation", "'swish'",
                            "expected one of: sigmoid, tanh, relu, identity, softmax"]),
    "activation list length": ('"sigmoid"', '["sigmoid"]',
                               [":5:", "network.activation", "a list of 2 (one per weight layer)"]),
    "unknown loss": ('"bce"', '"hinge"', [":17:", "training.loss", "expected one of: half_sse, mse, bce, cross_entropy"]),
    "unknown dtype": ("epochs = 2", 'epochs = 2\ndtype = "float16"',
                      [":20:", "training.dtype", "'float16'", "expected one of: float32, float64"]),
    "unknown notation": ('title = "a small bce network"', 'notation = "greek"',
                         [":1:", "notation", "'greek'", "expected one of: flat, layered"]),
    "unknown update_order": ("epochs = 2", 'epochs = 2\nupdate_order = "random"',
                             [":20:", "training.update_order", "expected one of: simultaneous, sequential"]),
    "unknown init method": ("weights = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]\nbiases = [[0.1, 0.2], [0.3]]",
                            'method = "bogus"', [":9:", "init.method", "expected one of: torch, uniform"]),
    "weights and method": ("biases = [[0.1, 0.2], [0.3]]", 'biases = [[0.1, 0.2], [0.3]]\nmethod = "uniform"',
                           [":11:", "init.method", "either explicit weights or a method"]),
    "nan weight": ("0.5, 0.6", "nan, 0.6", [":9:", "init.weights", "weights[1][0][0]", "expected a finite number, got nan"]),
    "inf input": ("[[0.0, 1.0], [1.0", "[[inf, 1.0], [1.0", [":13:", "inputs[0][0]", "expected a finite number, got inf"]),
    "-inf learning rate": ("learning_rate = 0.5", "learning_rate = -inf",
                           [":18:", "training.learning_rate", "expected a finite number"]),
    "learning rate 0": ("learning_rate = 0.5", "learning_rate = 0", [":18:", "training.learning_rate", "expected a number > 0, got 0"]),
    "learning rate < 0": ("learning_rate = 0.5", "learning_rate = -1", [":18:", "expected a number > 0, got -1"]),
    "learning rate string": ("learning_rate = 0.5", 'learning_rate = "fast"',
                             [":18:", "training.learning_rate", "expected a number, got a string ('fast')"]),
    "epochs 0": ("epochs = 2", "epochs = 0", [":19:", "training.epochs", "expected a whole number ≥ 1, got 0"]),
    "epochs fractional": ("epochs = 2", "epochs = 2.5", [":19:", "training.epochs", "expected a whole number"]),
    "epochs absurd": ("epochs = 2", "epochs = 100000000000000000000", [":19:", "training.epochs", "≤ 10000000"]),
    "bce target > 1": ("targets = [[1.0], [0.0]]", "targets = [[1.5], [0.0]]",
                       [":14:", "data.targets", "needs targets in [0, 1], got 1.5"]),
    "freeze: outside": ("epochs = 2", 'epochs = 2\nfreeze = ["W[3,1,1]"]',
                        [":20:", "training.freeze", "W[3,1,1] is outside the network (sizes [2, 2, 1])"]),
    "freeze: not an id": ("epochs = 2", 'epochs = 2\nfreeze = ["bogus"]',
                          [":20:", "training.freeze", "'bogus' is not a parameter id; expected W[l,j,i] or b[l,j]"]),
    "sizes too short": ("sizes = [2, 2, 1]", "sizes = [2]",
                        [":4:", "network.sizes", "expected a list of at least two whole numbers ≥ 1"]),
    "sizes with 0": ("sizes = [2, 2, 1]", "sizes = [2, 0, 1]", [":4:", "network.sizes", "got [2, 0, 1]"]),
    "bias not boolean": ("bias = true", 'bias = "yes"', [":6:", "network.bias", "expected true or false"]),
    "missing table": ("[data]\ninputs = [[0.0, 1.0], [1.0, 0.0]]\ntargets = [[1.0], [0.0]]", "",
                      ["missing required table [data]"]),
    "missing required key": ("sizes = [2, 2, 1]\n", "", [":3:", "network", "missing required key 'sizes'"]),
    "uniform: bad scale": ("weights = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]\nbiases = [[0.1, 0.2], [0.3]]",
                           'method = "uniform"\nscale = -1', [":10:", "init.scale", "expected a number > 0"]),
    "uniform: bad seed": ("weights = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]\nbiases = [[0.1, 0.2], [0.3]]",
                          'method = "uniform"\nseed = -1', [":10:", "init.seed", "expected a whole number ≥ 0"]),
    "title not a string": ('title = "a small bce network"', "title = 3", [":1:", "title", "expected a string"]),
}


def assert_bad(code, out, err, must, stdout_empty=True):
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for part in must:
        assert part in lines[0], (part, lines[0])
    if stdout_empty:
        assert out == ""
    return lines[0]


def assert_bad_edit(run_cli, write_scenario, base, case):
    """``case`` = (text replaced in the scenario ``base``, its replacement, what the message must
    contain): replaying the edited scenario is bad input naming the file."""
    old, new, must = case
    assert base.count(old) == 1, case
    path = write_scenario(base.replace(old, new))
    code, out, err = run_cli("replay", str(path), "-c", "step")
    line = assert_bad(code, out, err, must)
    assert line.startswith(f"bpstep: {path}"), line


@pytest.mark.parametrize("label", sorted(SCENARIOS))
def test_bad_scenario_file(run_cli, write_scenario, label):
    assert_bad_edit(run_cli, write_scenario, BASE, SCENARIOS[label])


def test_the_base_scenario_is_good(run_cli, write_scenario):
    code, out, err = run_cli("replay", str(write_scenario(BASE)), "-c", "step")
    assert code == 0 and err == "" and out.startswith("e0 forward #1 ")


def test_freeze_of_a_bias_when_there_are_none(run_cli, write_scenario):
    text = BASE.replace("bias = true", "bias = false").replace("biases = [[0.1, 0.2], [0.3]]\n", "")
    path = write_scenario(text.replace("epochs = 2", 'epochs = 2\nfreeze = ["b[1,1]"]'))
    assert_bad(*run_cli("replay", str(path)), [str(path), ":19:", "training.freeze", "b[1,1]: the network has no biases"])


@pytest.mark.parametrize("content, must", [
    (b"", ["the file is empty", "expected a TOML scenario"]),
    (b"  \n\n\t\n", ["the file is empty"]),
    (b"\x00\x01\x02binary\x00", ["is a binary file", "expected a TOML scenario file"]),
    (b"\xff\xfe\x00t\x00i", ["is not UTF-8 text"]),
    (b"title = \"caf\xe9\"\n", ["is not UTF-8 text", "expected a TOML scenario file"]),
])
def test_unusable_files(run_cli, tmp_path, content, must):
    path = tmp_path / "s.toml"
    path.write_bytes(content)
    line = assert_bad(*run_cli("replay", str(path)), must)
    assert line.startswith(f"bpstep: {path}")


def test_a_comment_only_file_says_what_is_missing(run_cli, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("# nothing but a comment\n")
    assert_bad(*run_cli("replay", str(path)), [str(path), "missing required table [network]"])


def test_a_directory(run_cli, tmp_path):
    assert_bad(*run_cli("replay", str(tmp_path)), [str(tmp_path), "is a directory", "expected a scenario .toml file"])


def test_a_missing_file_or_unknown_builtin(run_cli, tmp_path):
    assert_bad(*run_cli("replay", str(tmp_path / "nope.toml")),
               [str(tmp_path / "nope.toml"), "no such file or built-in scenario", "worked-222, iris, xor"])
    assert_bad(*run_cli("replay", "worked-223"), ["worked-223: no such file", "built-ins are: worked-222, iris, xor"])


# --- scripts -----------------------------------------------------------------------------------

SCRIPTS = {
    "unknown id": ("step\nnext\nprint W[9,9,9]\n", 3, ["unknown id 'W[9,9,9]' for a 2-2-2 network"]),
    "not an id": ("step\nwatch q[1]\n", 2, ["'q[1]' is not a quantity id", "expected e.g."]),
    "bias of a network without": ("break b[1,1]\n", 1, ["the network has no biases"]),
    "sample out of range": ("\n\nprint z[1,1]@2\n", 3, ["sample 2 is outside 1…1"]),
    "unknown command": ("step\n# a comment\nfrobnicate 3\n", 3, ["unknown command 'frobnicate'", "expected one of: step"]),
    "bad condition": ("break z[1,1] if value >\n", 1, ["condition", "expected a number, an id"]),
    "condition is not code": ("break z[1,1] if __import__('os').system('true')\n", 1, ["condition", "unexpected"]),
    "break on a given value": ("step\nbreak W[2,1,1]\n", 2, ["break: W[2,1,1] is given, not computed",
                                                          "expected the id of a step"]),
    "condition with an unknown id": ("break z[1,1] if W[5,1,1] > 0\n", 1, ["unknown id 'W[5,1,1]'"]),
    "bad count": ("step 0\n", 1, ["step: expected a count ≥ 1", "usage: step [N]"]),
    "goto epoch out of range": ("step\ngoto epoch 5\n", 2, ["goto: epoch 5 is outside 0…1"]),
    "goto a phase that is not there": ("goto epoch 1 phase backward\n", 1, ["epoch 1 has no backward phase"]),
    "unknown phase": ("break phase lost\n", 1, ["unknown phase 'lost'", "expected one of: forward"]),
    "expect without a number": ("expect z[1,1] abc\n", 1, ["the expected value 'abc' is not a number"]),
    "negative tolerance": ("expect z[1,1] 0.08 tol -1\n", 1, ["the tolerance must be ≥ 0"]),
    "goto step out of range": ("goto step 99\n", 1, ["goto: step 99 is outside 0…54 of epoch 0"]),
    "delete a breakpoint that is not there": ("delete 3\n", 1, ["there is no breakpoint #3"]),
    "unwatch what is not watched": ("unwatch z[1,1]\n", 1, ["z[1,1] is not watched"]),
    "arguments where there are none": ("where now\n", 1, ["where: takes no arguments"]),
}


@pytest.mark.parametrize("label", sorted(SCRIPTS))
def test_bad_script_file_names_the_line(run_cli, tmp_path, label):
    text, line_number, must = SCRIPTS[label]
    path = tmp_path / "walk.bps"
    path.write_text(text, encoding="utf-8")
    line = assert_bad(*run_cli("replay", "worked-222", "--script", str(path)), must)
    assert line.startswith(f"bpstep: {path}:{line_number}: "), line


@pytest.mark.parametrize("label", sorted(SCRIPTS))
def test_bad_c_commands_name_the_line(run_cli, label):
    text, _, must = SCRIPTS[label]
    commands = "; ".join(line for line in text.splitlines() if not line.startswith("#"))
    line = assert_bad(*run_cli("replay", "worked-222", "-c", commands), must)
    assert line.startswith("bpstep: -c:1: "), line


def test_a_script_is_checked_before_anything_runs(run_cli):
    """A typo at the end costs nothing: no output from the commands before it."""
    assert_bad(*run_cli("replay", "xor", "-c", "goto epoch 9000; step; prnt E"), ["-c:1:", "unknown command 'prnt'"])


@pytest.mark.parametrize("args, must", [
    (["replay", "worked-222", "--epochs", "0"], ["bpstep replay", "--epochs", "expected a whole number from 1 to", "got '0'"]),
    (["replay", "worked-222", "--epochs", "1000000000000"], ["--epochs", "from 1 to 10000000", "got '1000000000000'"]),
    (["replay", "worked-222", "--epochs", "many"], ["--epochs", "got 'many'"]),
    (["replay", "worked-222", "--epochs", "-3"], ["--epochs", "got '-3'"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'", "replay", "list"]),
    (["replay", "worked-222", "--frob"], ["unrecognized arguments: --frob"]),
    (["replay"], ["the following arguments are required: scenario"]),
    (["replay", "worked-222", "--format", "xml"], ["--format", "invalid choice: 'xml'", "text"]),
    (["replay", "worked-222", "-c", "step", "--script", "x"], ["--script", "not allowed with argument -c"]),
    (["list", "extra"], ["unrecognized arguments: extra"]),
    (["replay", "worked-222", "-c", ""], ["-c: no commands", "expected commands such as"]),
    (["replay", "worked-222", "-c", " ; # only a comment"], ["-c: no commands"]),
])
def test_bad_command_lines(run_cli, args, must):
    assert_bad(*run_cli(*args), must)


def test_script_files_that_cannot_be_used(run_cli, tmp_path):
    missing = tmp_path / "nope.bps"
    assert_bad(*run_cli("replay", "worked-222", "--script", str(missing)),
               [f"{missing}: cannot read the script", "No such file"])
    assert_bad(*run_cli("replay", "worked-222", "--script", str(tmp_path)), [f"{tmp_path}: is a directory", "script file"])
    binary = tmp_path / "b.bps"
    binary.write_bytes(b"step\x00\x01")
    assert_bad(*run_cli("replay", "worked-222", "--script", str(binary)), [str(binary), "is a binary file"])
    empty = tmp_path / "e.bps"
    empty.write_text("# nothing to do\n")
    assert_bad(*run_cli("replay", "worked-222", "--script", str(empty)), [f"{empty}: no commands"])


def test_goto_epoch_out_of_range_of_the_epochs_option(run_cli):
    assert_bad(*run_cli("replay", "xor", "--epochs", "3", "-c", "goto epoch 4"),
               ["-c:1: goto: epoch 4 is outside 0…3", "(epoch 3 is the evaluate phase)"])


def test_bad_input_as_a_process_has_no_traceback(run_proc, write_scenario):
    path = write_scenario(BASE.replace("0.5, 0.6", "nan, 0.6"))
    for args in (["replay", str(path)], ["replay", "worked-222", "-c", "print W[9,9,9]"],
                 ["replay", "worked-222", "--epochs", "0"], ["nonsense"]):
        proc = run_proc(*args)
        assert proc.returncode == 2 and proc.stdout == ""
        assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


def test_running_out_of_memory_is_bad_input_not_a_traceback(run_cli, monkeypatch):
    from bpstep import session

    def too_big(self, scenario, tape=None):
        raise MemoryError()

    monkeypatch.setattr(session.Session, "__init__", too_big)
    assert_bad(*run_cli("replay", "xor"), ["bpstep: xor: too large to hold in memory", "expected fewer"])
