"""Unit tests of dvc.yaml templating (pipeline/template.py): vars, ${...}, foreach, matrix and
the one-line errors, with the expected values and messages observed from DVC 3.67.1."""
from __future__ import annotations

import pytest

from dataver import dvcfile
from dataver.pipeline import template
from dataver.pipeline.stage import stages_of
from dataver.pipeline.template import TemplateError

PARAMS = ("train:\n  lr: 1.5e-3\n  big: 1e20\n  opts:\n    depth: 2\n    verbose: true\n"
          "    quiet: false\n    lst: [1, 2]\n    nested: {a: 1}\n    s: hello world\n    n: null\n"
          "models: [a, b]\nseeds:\n  us: 1\n  eu: 2\nflag: false\n")


def _resolve(tmp_path, yaml_text: str, params: str | None = PARAMS) -> dict:
    if params is not None:
        (tmp_path / "params.yaml").write_text(params)
    path = tmp_path / "dvc.yaml"
    path.write_text(yaml_text)
    return template.resolve(dvcfile._parse_yaml(yaml_text, str(path)), str(path))


def test_interpolation_as_dvc_writes_it(tmp_path):
    stages = _resolve(tmp_path, "stages:\n  s:\n    cmd: echo ${train.lr} ${train.big} ${models[0]} "
                      "${models.1} ${flag} ${ seeds.us } ${train.opts} '\\${train.lr}' ${x\n")
    assert stages["s"]["cmd"] == ("echo 0.0015 1e+20 a b false 1 --depth 2 --verbose --lst 1 2 "
                                  "--nested.a 1 --s 'hello world' --n None '${train.lr}' ${x")


def test_whole_value_keeps_its_type_and_keys_are_interpolated(tmp_path):
    stages = _resolve(tmp_path, "stages:\n  s:\n    cmd: echo\n    deps: ${models}\n    outs:\n"
                      "    - o-${seeds.eu}:\n        cache: false\n    meta: ${seeds}\n")
    assert stages["s"]["deps"] == ["a", "b"]
    assert stages["s"]["outs"] == [{"o-2": {"cache": False}}]
    assert stages["s"]["meta"] == {"us": 1, "eu": 2}


def test_foreach_list_dict_and_reference(tmp_path):
    stages = _resolve(tmp_path, "stages:\n"
                      "  a:\n    foreach: [1, 2.5, true, x y]\n    do:\n      cmd: echo ${item}\n"
                      "  b:\n    foreach: ${seeds}\n    do:\n      cmd: echo ${key} ${item}\n"
                      "  c:\n    foreach: [{p: 1}, {p: 2}]\n    do:\n      cmd: echo ${item.p}\n")
    assert list(stages) == ["a@1", "a@2.5", "a@true", "a@x y", "b@us", "b@eu", "c@0", "c@1"]
    assert stages["b@eu"] == {"cmd": "echo eu 2"}
    assert stages["a@true"]["cmd"] == "echo true"
    assert stages["c@1"]["cmd"] == "echo 2"


def test_matrix_names_as_dvc(tmp_path):
    stages = _resolve(tmp_path, "stages:\n  m:\n    matrix:\n      d: [{p: 1}, {p: 2}]\n"
                      "      x: ${models}\n      f: [1.5, false]\n"
                      "    cmd: echo ${item.d.p} ${item.x} ${item.f}\n")
    assert list(stages)[:3] == ["m@d0-a-1.5", "m@d0-a-false", "m@d0-b-1.5"]
    assert len(stages) == 8
    assert stages["m@d1-b-false"]["cmd"] == "echo 2 b false"


def test_vars_files_keys_and_stage_vars_relative_to_wdir(tmp_path):
    (tmp_path / "custom.yaml").write_text("k1: hello\nk2: {x: 1}\nk3: 9\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "v.yaml").write_text("q: 9\n")
    stages = _resolve(tmp_path, "vars:\n  - custom.yaml:k1,k2\n  - mine: 5\n    dir: sub\nstages:\n"
                      "  s:\n    cmd: echo ${k1} ${k2.x} ${mine} ${q}\n    wdir: ${dir}\n"
                      "    vars:\n      - v.yaml\n")
    assert stages["s"] == {"cmd": "echo hello 1 5 9", "wdir": "sub"}
    with pytest.raises(TemplateError, match="Could not find 'k3'"):
        _resolve(tmp_path, "vars:\n  - custom.yaml:k1\nstages:\n  s:\n    cmd: echo ${k3}\n")


def test_stages_of_resolves_a_templated_file(tmp_path):
    (tmp_path / "params.yaml").write_text(PARAMS)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  t:\n    foreach: ${models}\n    do:\n      cmd: touch out-${item}\n"
        "      outs:\n      - out-${item}\n")
    stages = stages_of(str(tmp_path / "dvc.yaml"), str(tmp_path))
    assert [(s.name, s.cmd, [o.path for o in s.outs]) for s in stages] == [
        ("t@a", "touch out-a", ["out-a"]), ("t@b", "touch out-b", ["out-b"])]


@pytest.mark.parametrize("yaml_text, message", [
    ("stages:\n  s:\n    cmd: echo ${nope}\n",
     "failed to parse 'stages.s.cmd' in 'dvc.yaml': Could not find 'nope'"),
    ("stages:\n  s:\n    cmd: echo ${train.}\n",
     "failed to parse 'stages.s.cmd' in 'dvc.yaml': invalid expression '${train.}'"),
    ("stages:\n  s:\n    cmd: echo ${models}\n",
     "failed to parse 'stages.s.cmd' in 'dvc.yaml': Cannot interpolate data of type 'list'"),
    ("stages:\n  s:\n    cmd: echo\n    outs:\n    - o${seeds}\n",
     "failed to parse 'stages.s.outs' in 'dvc.yaml': Cannot interpolate data of type 'dict'"),
    ("stages:\n  s:\n    foreach: ${flag}\n    do:\n      cmd: echo\n",
     "failed to resolve 'stages.s.foreach' in 'dvc.yaml': expected list/dictionary, got bool"),
    ("stages:\n  s:\n    foreach: [1]\n    do:\n      cmd: echo ${key}\n",
     "failed to parse 'stages.s@1.cmd' in 'dvc.yaml': Could not find 'key'"),
    ("stages:\n  s@1:\n    cmd: echo\n  s:\n    foreach: [1]\n    do:\n      cmd: echo ${item}\n",
     "failed to parse 'stages.s' in 'dvc.yaml': stage name 's@1' is defined twice"),
    ("vars:\n  - flag: 2\nstages:\n  s:\n    cmd: echo\n",
     "failed to parse 'vars' in 'dvc.yaml': cannot redefine 'flag' from 'vars[0]' as it already "
     "exists in 'params.yaml'"),
    ("vars:\n  - train: {lr: 1}\nstages:\n  s:\n    cmd: echo\n",
     "cannot redefine 'train.lr' from 'vars[0]' as it already exists in 'params.yaml'"),
    ("vars:\n  - nofile.yaml\nstages:\n  s:\n    cmd: echo\n",
     "failed to parse 'vars' in 'dvc.yaml': 'nofile.yaml' does not exist"),
    ("vars:\n  - params.yaml:flag\nstages:\n  s:\n    cmd: echo\n",
     "cannot partially load 'params.yaml:flag' as it's already loaded."),
    ("vars:\n  - params.yaml\n  - sub/c.yaml:k1\n  - sub/c.yaml:k2\nstages:\n  s:\n    cmd: echo\n",
     "failed to parse 'vars' in 'dvc.yaml': cannot load 'sub/c.yaml:k2' as it's partially loaded already"),
    ("vars:\n  - sub/c.yaml:k9\nstages:\n  s:\n    cmd: echo\n",
     "failed to parse 'vars' in 'dvc.yaml': could not find 'k9' in 'sub/c.yaml'"),
    ("stages:\n  s:\n    foreach: {a: 1}\n    do:\n      cmd: echo\n      vars:\n      - item: 3\n",
     "failed to parse stage 's@a' in 'dvc.yaml': attempted to modify reserved key item"),
])
def test_errors_are_one_line_naming_file_and_stage(tmp_path, monkeypatch, yaml_text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("k1: 1\nk2: 2\n")
    with pytest.raises(TemplateError) as info:
        _resolve(tmp_path, yaml_text)
    assert message in str(info.value)
    assert "\n" not in str(info.value) and "(" in str(info.value)  # one line, with a hint


def test_untemplated_file_is_left_alone(tmp_path):
    data = {"stages": {"s": {"cmd": "echo"}}}
    assert not template.is_templated("stages:\n  s:\n    cmd: echo\n", data)
    assert template.is_templated("stages:\n  s:\n    cmd: echo \\${x}\n", data)


def test_item_from_params_is_overwritten_with_a_warning(tmp_path):
    from dataver.errors import DataverWarning

    with pytest.warns(DataverWarning) as record:
        stages = _resolve(tmp_path, "stages:\n  s:\n    foreach: [a]\n    do:\n      cmd: echo ${item}\n",
                          params="item: 1\nkey: 2\n")
    assert stages == {"s@a": {"cmd": "echo a"}}
    # only 'item': a list's foreach sets no 'key'
    assert [str(w.message) for w in record] == [
        "item is already specified, will be overwritten for stages generated from 's' "
        "(rename 'item' in params.yaml or 'vars')"]


def test_stage_vars_stay_in_their_stage(tmp_path):
    text = ("stages:\n  a:\n    vars:\n    - train: {extra: 1}\n    cmd: echo ${train.extra} ${train.lr}\n"
            "  b:\n    cmd: echo ${train.lr}\n")
    assert _resolve(tmp_path, text) == {"a": {"cmd": "echo 1 0.0015"}, "b": {"cmd": "echo 0.0015"}}
    with pytest.raises(TemplateError, match="'stages.b.cmd'.*Could not find 'train.extra'"):
        _resolve(tmp_path, text.replace("b:\n    cmd: echo ${train.lr}", "b:\n    cmd: echo ${train.extra}"))


def test_parsing_config_changes_how_a_mapping_unpacks(tmp_path):
    """As DVC 3.67.1 prints them for `parsing.bool` / `parsing.list` (empty lists left out)."""
    params = "a: {t: true, f: false, l: [1, x y], e: [], n: {b: false}}\n"
    text = "stages:\n  s:\n    cmd: echo ${a}\n"
    assert _resolve(tmp_path, text, params)["s"]["cmd"] == "echo --t --l 1 'x y'"
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[parsing]\n    bool = boolean_optional\n    list = append\n")
    stage, = stages_of(str(tmp_path / "dvc.yaml"), str(tmp_path))
    assert stage.cmd == "echo --t --no-f --l 1 --l 'x y' --no-n.b"
