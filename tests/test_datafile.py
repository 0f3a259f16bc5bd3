"""``[data] file``: inputs and targets from a CSV, .npy or .npz file, columns named, class labels
mapped to one-hot targets; every bad file one line and exit 2."""

import contextlib
import io
import textwrap

import numpy as np
import pytest

from bpstep import datafile, scenario
from bpstep.cli import main
from test_bad_input import assert_bad

HEAD = """\
[network]
sizes = [2, 3, 3]
activation = "sigmoid"

[init]
method = "uniform"
seed = 4

[data]
{data}

[training]
learning_rate = 0.5
epochs = 2
"""

CSV = """\
petal_length,petal_width,species
1.4,0.2,setosa
4.7,1.4,versicolor
1.3,0.2,setosa
6.0,2.5,virginica
"""

ONE_HOT = [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]
X = [[1.4, 0.2], [4.7, 1.4], [1.3, 0.2], [6.0, 2.5]]


def inline():
    return HEAD.format(data=f"inputs = {X}\ntargets = {ONE_HOT}")


def write(folder, data, files):
    """The scenario with ``data`` as its [data] table and the given files beside it."""
    for name, content in files.items():
        if isinstance(content, str):
            (folder / name).write_text(textwrap.dedent(content), encoding="utf-8")
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            content(folder / name)
    path = folder / "s.toml"
    path.write_text(HEAD.format(data=data), encoding="utf-8")
    return path


def replay(path, *commands):
    return main_output("replay", str(path), "-c", "; ".join(commands))


def main_output(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return out.getvalue()


# --- good files ----------------------------------------------------------------------------------


def test_a_csv_with_a_label_column_is_one_hot_in_order_of_first_appearance(tmp_path):
    sc = scenario.load(str(write(tmp_path, 'file = "iris.csv"\ntargets = "species"', {"iris.csv": CSV})))
    assert sc.classes == ("setosa", "versicolor", "virginica")
    assert np.array_equal(sc.inputs, X) and np.array_equal(sc.targets, ONE_HOT)


def test_a_run_from_a_file_is_the_run_from_the_same_numbers_inline(tmp_path):
    from_file = write(tmp_path, 'file = "iris.csv"\ninputs = ["petal_length", "petal_width"]\ntargets = "species"',
                      {"iris.csv": CSV})
    (tmp_path / "inline.toml").write_text(inline(), encoding="utf-8")
    script = ("goto epoch 1 phase backward", "print dE/dW[1,1,1]", "continue", "print E")
    assert replay(from_file, *script) == replay(tmp_path / "inline.toml", *script)


def test_print_classes_names_each_class_with_its_index_and_target(tmp_path):
    path = write(tmp_path, 'file = "iris.csv"\ntargets = "species"', {"iris.csv": CSV})
    assert replay(path, "print classes") == \
        "# classes  setosa = 0 (t[1]), versicolor = 1 (t[2]), virginica = 2 (t[3])\n"


def test_print_classes_without_labels_is_bad_input(run_cli):
    assert_bad(*run_cli("replay", "xor", "-c", "print classes"),
               ["-c:1: print classes: the targets of this scenario are numbers, not class labels"])


def test_whole_numbers_in_a_label_column_are_class_indices(tmp_path):
    text = CSV.replace("setosa", "0").replace("versicolor", "2").replace("virginica", "1")
    sc = scenario.load(str(write(tmp_path, 'file = "d.csv"\ntargets = "species"', {"d.csv": text})))
    assert sc.classes == ("0", "1", "2")
    assert np.array_equal(sc.targets, [[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_numeric_target_columns_one_per_output(tmp_path):
    text = "a,b,t1,t2,t3\n" + "".join(f"{x[0]},{x[1]},{t[0]},{t[1]},{t[2]}\n" for x, t in zip(X, ONE_HOT))
    sc = scenario.load(str(write(tmp_path, 'file = "d.csv"\ntargets = ["t1", "t2", "t3"]', {"d.csv": text})))
    assert sc.classes == () and np.array_equal(sc.targets, ONE_HOT) and np.array_equal(sc.inputs, X)


def save_npy(array):
    return lambda path: np.save(path, np.asarray(array))


@pytest.mark.parametrize("targets", ['"2:"', "[2, 3, 4]", '"-3:"', "[-3, -2, -1]"])
def test_a_npy_with_its_target_columns_by_index(tmp_path, targets):
    whole = np.hstack([X, ONE_HOT])
    sc = scenario.load(str(write(tmp_path, f'file = "d.npy"\ntargets = {targets}', {"d.npy": save_npy(whole)})))
    assert np.array_equal(sc.inputs, X) and np.array_equal(sc.targets, ONE_HOT) and sc.classes == ()


def test_a_npy_with_a_class_index_column_and_inputs_named(tmp_path):
    whole = np.array([[9, *x, k] for x, k in zip(X, [0, 1, 0, 2])])
    sc = scenario.load(str(write(tmp_path, 'file = "d.npy"\ninputs = "1:3"\ntargets = 3', {"d.npy": save_npy(whole)})))
    assert np.array_equal(sc.inputs, X) and np.array_equal(sc.targets, ONE_HOT)


def test_a_npz_of_named_arrays_with_string_labels(tmp_path):
    def save(path):
        np.savez(path, features=np.array(X), kind=np.array(["setosa", "versicolor", "setosa", "virginica"]))
    sc = scenario.load(str(write(tmp_path, 'file = "d.npz"\ninputs = "features"\ntargets = "kind"', {"d.npz": save})))
    assert np.array_equal(sc.inputs, X) and np.array_equal(sc.targets, ONE_HOT)
    assert sc.classes == ("setosa", "versicolor", "virginica")


def test_the_file_is_relative_to_the_scenario_not_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub", 'file = "iris.csv"\ntargets = "species"', {"iris.csv": CSV})
    monkeypatch.chdir(tmp_path)
    assert scenario.load("sub/s.toml").classes == ("setosa", "versicolor", "virginica")
    assert path.exists()


def test_an_mnist_sized_npy_is_read_as_arrays_not_number_by_number(tmp_path, monkeypatch):
    """128 × (784 + 10) numbers: the loader never converts a cell at a time (that path is only
    taken to name a bad cell), so it costs milliseconds; bench/datafile.py measures it."""
    rng = np.random.default_rng(0)
    whole = np.hstack([rng.random((128, 784)), np.eye(10)[rng.integers(0, 10, 128)]])
    np.save(tmp_path / "m.npy", whole)
    (tmp_path / "m.toml").write_text(HEAD.replace("[2, 3, 3]", "[784, 16, 10]").format(
        data='file = "m.npy"\ntargets = "784:"'), encoding="utf-8")

    def per_cell(*args):
        raise AssertionError("a cell converted on its own")

    monkeypatch.setattr(np, "ndindex", per_cell)
    sc = scenario.load(str(tmp_path / "m.toml"))
    assert np.array_equal(sc.inputs, whole[:, :784]) and np.array_equal(sc.targets, whole[:, 784:])


def test_saving_a_what_if_of_a_file_scenario_writes_the_numbers(tmp_path):
    path = write(tmp_path, 'file = "iris.csv"\ntargets = "species"', {"iris.csv": CSV})
    main_output("replay", str(path), "-c", f"set lr 0.25; save {tmp_path / 'w.toml'}")
    saved = scenario.load(str(tmp_path / "w.toml"))
    assert np.array_equal(saved.inputs, X) and np.array_equal(saved.targets, ONE_HOT)


# --- bad files -----------------------------------------------------------------------------------

LABELS = 'file = "d.csv"\ntargets = "species"'

# label → ([data] table, files, what the one line must contain)
BAD = {
    "missing file": ('file = "nope.csv"\ntargets = "species"', {}, ["data.file", "cannot read", "nope.csv",
                                                                    "No such file"]),
    "a directory": ('file = "sub.csv"\ntargets = "y"', {"sub.csv": lambda p: p.mkdir()}, ["is a directory"]),
    "unknown kind": ('file = "d.txt"\ntargets = "y"', {"d.txt": "a\n"}, ["d.txt: unknown kind of data file",
                                                                         ".csv, .npy, .npz"]),
    "file not a string": ('file = 3\ntargets = "y"', {}, ["data.file", "expected the name of a .csv", "a number (3)"]),
    "empty csv": (LABELS, {"d.csv": ""}, ["d.csv: is empty", "header row"]),
    "header only": (LABELS, {"d.csv": "a,b,species\n"}, ["d.csv: has a header but no rows"]),
    "ragged row": (LABELS, {"d.csv": CSV.replace("4.7,1.4,", "4.7,")}, ["data.file", "d.csv:3: expected 3 values",
                                                                        "got 2"]),
    "not a number": (LABELS, {"d.csv": CSV.replace("4.7", "4,7x")}, ["d.csv:3: expected 3 values"]),
    "a word for a number": (LABELS, {"d.csv": CSV.replace("6.0", "six")},
                            ["d.csv:5: column 'petal_length': expected a number, got 'six'"]),
    "an empty cell": (LABELS, {"d.csv": CSV.replace("1.3,", ",")}, ["d.csv:4: column 'petal_length'", "got ''"]),
    "nan": (LABELS, {"d.csv": CSV.replace("0.2,setosa\n4", "nan,setosa\n4")},
            ["d.csv:2: column 'petal_width': expected a finite number, got nan"]),
    "repeated header": (LABELS, {"d.csv": CSV.replace("petal_width", "petal_length")},
                        ["names column 'petal_length' twice"]),
    "unnamed column": (LABELS, {"d.csv": CSV.replace("petal_width", " ")}, ["d.csv:1: column 2 of the header has no name"]),
    "not utf-8": (LABELS, {"d.csv": b"a,b,species\n1,2,caf\xe9\n"}, ["d.csv: is not UTF-8 text"]),
    "unknown target column": ('file = "d.csv"\ntargets = "kind"', {"d.csv": CSV},
                              ["data.targets", "d.csv has no column 'kind'", "petal_length, petal_width, species"]),
    "unknown input column": ('file = "d.csv"\ninputs = ["petal_length", "sepal"]\ntargets = "species"', {"d.csv": CSV},
                             ["data.inputs", "no column 'sepal'"]),
    "column both input and target": ('file = "d.csv"\ninputs = ["petal_length", "species"]\ntargets = "species"',
                                     {"d.csv": CSV}, ["data.inputs", "column 'species' is a target too"]),
    "too few inputs": ('file = "d.csv"\ninputs = "petal_length"\ntargets = "species"', {"d.csv": CSV},
                       ["data.inputs", "1 input column in d.csv for a network of 2 inputs"]),
    "one class": (LABELS, {"d.csv": CSV.replace("versicolor", "setosa").replace("virginica", "setosa")},
                  ["data.targets", "holds one class only ('setosa')", "expected labels of 3 classes"]),
    "too many classes": (LABELS, {"d.csv": CSV + "5.0,1.9,hybrid\n"},
                         ["data.targets", "holds 4 classes (setosa, versicolor, virginica, hybrid)", "3 outputs"]),
    "fractional class index": (LABELS, {"d.csv": CSV.replace("setosa", "0").replace("versicolor", "1.5")
                                        .replace("virginica", "2")}, ["d.csv:3: column 'species': 1.5 is not a class index"]),
    "empty label": (LABELS, {"d.csv": CSV.replace("versicolor", "")}, ["d.csv:3", "expected a class label, got an empty"]),
    "class index out of range": (LABELS, {"d.csv": CSV.replace("setosa", "0").replace("versicolor", "1")
                                          .replace("virginica", "3")},
                                 ["data.targets", "d.csv:5: column 'species': 3 is not a class index 0…2"]),
    "targets not names": ('file = "d.csv"\ntargets = 2', {"d.csv": CSV},
                          ["data.targets", "expected one of d.csv's column names", "got a number (2)"]),
    "npy not 2-D": ('file = "d.npy"\ntargets = 0', {"d.npy": save_npy([1.0, 2.0])},
                    ["d.npy: holds an array of shape (2,); expected a 2-D array"]),
    "npy that is not one": ('file = "d.npy"\ntargets = 0', {"d.npy": "1,2,3\n"}, ["d.npy: is not a NumPy .npy file"]),
    "npy of objects": ('file = "d.npy"\ntargets = 0', {"d.npy": lambda p: np.save(p, np.array([[{}, 1]], dtype=object))},
                       ["d.npy: is not a NumPy .npy file of numbers or text", "Python objects"]),
    "npy of complex numbers": ('file = "d.npy"\ntargets = "2:"', {"d.npy": save_npy(np.ones((4, 5), complex))},
                               ["d.npy: column 0 holds complex128 values; expected numbers"]),
    "npy nan": ('file = "d.npy"\ntargets = "2:"', {"d.npy": save_npy(np.where(np.eye(4, 5, -1) > 0, np.nan, 1.0))},
                ["data.file", "d.npy: row 1 (sample 2): column 0: expected a finite number, got nan"]),
    "npy column outside": ('file = "d.npy"\ntargets = [5, 6, 7]', {"d.npy": save_npy(np.ones((4, 5)))},
                           ["data.targets", "column 5 is outside d.npy's columns 0…4"]),
    "npy empty range": ('file = "d.npy"\ntargets = "7:"', {"d.npy": save_npy(np.ones((4, 5)))},
                        ["data.targets", "columns '7:' of d.npy are none of its 5"]),
    "npy targets by name": ('file = "d.npy"\ntargets = "y"', {"d.npy": save_npy(np.ones((4, 5)))},
                            ["data.targets", "expected a column index of d.npy (counted from 0)"]),
    "npy two target columns": ('file = "d.npy"\ntargets = "3:"', {"d.npy": save_npy(np.ones((4, 5)))},
                               ["data.targets", "3 columns that are not a target (the inputs) in d.npy for a network of 2"]),
    "npy wrong target count": ('file = "d.npy"\ninputs = [0, 1]\ntargets = "3:"', {"d.npy": save_npy(np.ones((4, 5)))},
                               ["data.targets", "2 target columns in d.npy for a network of 3 outputs",
                                "or one column of class labels"]),
    "npz unknown array": ('file = "d.npz"\ntargets = "y"', {"d.npz": lambda p: np.savez(p, X=np.ones((4, 2)))},
                          ["data.targets", "d.npz has no array 'y'; it has: X"]),
    "npz rows differ": ('file = "d.npz"\ntargets = "y"',
                        {"d.npz": lambda p: np.savez(p, X=np.ones((4, 2)), y=np.zeros(3, int))},
                        ["d.npz: array 'y' has 3 rows and 'X' 4"]),
    "npz that is not one": ('file = "d.npz"\ntargets = "y"', {"d.npz": b"PK\x03\x04garbage"},
                            ["d.npz: is not a NumPy .npz archive"]),
    "no inputs without a file": ("targets = [[1, 0, 0]]", {}, ["data", "missing required key 'inputs'"]),
}


@pytest.mark.parametrize("label", sorted(BAD))
def test_a_bad_data_file_is_one_line_and_exit_2(run_cli, tmp_path, label):
    data, files, must = BAD[label]
    path = write(tmp_path, data, files)
    line = assert_bad(*run_cli("replay", str(path), "-c", "step"), must)
    assert line.startswith(f"bpstep: {path}:"), line


def test_the_label_column_kinds_reported_against_the_fields(tmp_path):
    """A problem of the file's content is data.file; of a selection, data.inputs or targets."""
    table = datafile.read(write(tmp_path, LABELS, {"d.csv": CSV}).parent / "d.csv", "d.csv")
    with pytest.raises(datafile.DataFileError) as e:
        table.select("targets", ["species", "species"])
    assert e.value.field == "targets" and "names 'species' twice" in str(e.value)
