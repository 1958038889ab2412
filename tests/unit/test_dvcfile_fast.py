"""The fast `.dvc` reader must read exactly what ruamel.yaml reads, or decline (None)."""
import random

from ruamel.yaml import YAML

from dataver.dvcfile_fast import parse_simple

VALUES = ["d8e8fca2dc0f896fd7cb4cb0031ba249", "d751713988987e9331980363e24189ce.dir", "6", "0", "007",
          "12", "1e5", "0x1F", "0o17", "true", "false", "True", "md5", "data", "data/img.png", "yes",
          "no", "null", "~", "2001-12-14", ".inf", "-x", "a b", "'q'", "é", "1_000", "_x", "nan",
          "on", "3.5", "e5", "data # c", "a:b", "NULL", "img_0001.png", "1.0.0", "v1"]
GOOD = {"md5": VALUES[:2], "size": ["6", "0", "12"], "nfiles": ["6", "0"], "hash": ["md5"],
        "isexec": ["true", "false"], "cache": ["false"], "push": ["false"],
        "path": ["data", "data/img.png", "img_0001.png", "_x", "1.0.0", "v1", "e5", "nan", "null"]}
KEYS = ["md5", "size", "nfiles", "hash", "isexec", "path", "cache", "push", "desc"]


def _ruamel(text: str):
    try:
        data = YAML().load(text)
    except Exception:
        return "error"
    return _plain(data)


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def _random_text(rng: random.Random) -> str:
    lines = ["outs:"]
    for _ in range(rng.randrange(1, 3)):
        keys = rng.sample(KEYS, rng.randrange(1, 5))
        if rng.random() < 0.05:
            keys.append(keys[0])  # duplicate key
        for i, key in enumerate(keys):
            value = rng.choice(GOOD.get(key, VALUES) if rng.random() < 0.85 else VALUES)
            lines.append(("- " if i == 0 else "  ") + f"{key}: {value}")
    return "\n".join(lines) + "\n"


def test_fast_reader_agrees_with_ruamel_or_declines():
    rng = random.Random(3)
    accepted = 0
    for _ in range(1500):
        text = _random_text(rng)
        fast = parse_simple(text)
        if fast is not None:
            accepted += 1
            assert repr(fast) == repr(_ruamel(text)), text  # repr: True and 1 differ
    assert accepted > 300


def test_files_dvc_writes_are_read_fast():
    text = ("outs:\n- md5: d751713988987e9331980363e24189ce.dir\n  size: 0\n  nfiles: 0\n"
            "  hash: md5\n  path: images_v2\n- md5: b1946ac92492d2347c6235b4d2611184\n  size: 6\n"
            "  isexec: true\n  hash: md5\n  path: model/w.pt\n")
    assert parse_simple(text) == _ruamel(text)


def test_anything_unusual_is_declined():
    for text in ["outs:\n- md5: x\n", "# c\nouts:\n- path: a\n", "outs:\n- path: a  # c\n",
                 "outs:\n- path: 'a'\n", "outs:\n  - path: a\n", "outs: []\n", "outs:\n- path: a",
                 "md5: abc\nouts:\n- path: a\n", "outs:\n- path: a\n\n", "outs:\n- path: true\n"]:
        assert parse_simple(text) is None, text
