"""The source facts behind W002/W004, and their cache on disk."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from django.apps import apps

from signal_inspector import sourcefacts
from signal_inspector.sourcefacts import SourceCache, find_mentions
from signal_inspector.unconnected import find_unconnected


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_a_file_is_parsed_once_until_it_changes(tmp_path: Path) -> None:
    source = write(tmp_path / "mod.py", "import os\n@receiver(sig)\ndef f(sender, **kw): pass\n")
    cache = SourceCache("project", str(tmp_path / "cache"))
    first = cache.facts(source)
    assert cache.facts(source) == first and cache.parsed == 1
    cache.save()
    again = SourceCache("project", str(tmp_path / "cache"))
    assert again.facts(source) == first and again.parsed == 0
    again.save()
    write(tmp_path / "mod.py", "import os, sys\n@receiver(sig)\ndef g(sender, **kw): pass\n")
    changed = SourceCache("project", str(tmp_path / "cache"))  # the next run
    assert changed.facts(source)["receivers"] == [{"name": "g", "line": 3, "signal": "sig"}]
    assert changed.parsed == 1


def test_a_broken_or_unwritable_cache_changes_nothing(tmp_path: Path) -> None:
    source = write(tmp_path / "mod.py", "from . import x\n")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    cache = SourceCache("project", str(blocked))
    assert cache.facts(source)["imports"][0][:3] == [True, 1, ""]
    cache.save()  # cannot write: nothing raised
    garbage = tmp_path / "cache"
    garbage.mkdir()
    first = SourceCache("project", str(garbage))
    Path(first.path).write_text("{not json")
    assert SourceCache("project", str(garbage)).facts(source) == cache.facts(source)


def test_no_cache_on_disk_when_the_directory_is_empty(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIGNAL_INSPECTOR_CACHE_DIR", "")
    cache = SourceCache("project")
    source = write(tmp_path / "mod.py", "x = 1\n")
    assert cache.facts(source) is not None
    cache.save()
    assert cache.path == ""


def test_mentions_tell_sends_calls_and_other_uses() -> None:
    tree = ast.parse(
        "from .signals import sig, other as alias\n"
        "sig = Signal()\n"
        "@receiver(sig)\ndef r(sender, **kw): pass\n"
        "sig.connect(r)\n"
        "def a():\n    return signals.sig.send_robust(None)\n"
        "def b():\n    sig._live_receivers(None)\n"
        "def c():\n    obj.helper()\n"
        "class K:\n    def m(self):\n        return sig.send_chained(None, 'x')\n",
    )
    found = find_mentions(tree, {"sig", "helper", "other"})
    assert found["sig"] == [["send", 7, "a"], ["other", 9, "b"], ["send", 14, "K.m"]]
    assert found["helper"] == [["call", 11, "c"]]
    assert found["other"] == [["other", 1, ""]]


@pytest.mark.usefixtures("settings")
def test_a_second_check_parses_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIGNAL_INSPECTOR_CACHE_DIR", str(tmp_path))
    parsed: list[str] = []
    real_parse = ast.parse

    def counting(source: str, *args: object, **kwargs: object) -> ast.Module:
        parsed.append(source[:20])
        return real_parse(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sourcefacts.ast, "parse", counting)
    configs = [apps.get_app_config("testapp")]
    first = find_unconnected(configs)
    assert parsed and os.listdir(tmp_path)
    parsed.clear()
    assert find_unconnected(configs) == first
    assert parsed == []


def test_a_cache_file_of_the_wrong_shape_is_read_afresh(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIGNAL_INSPECTOR_CACHE_DIR", str(tmp_path))
    configs = [apps.get_app_config("testapp")]
    expected = find_unconnected(configs)
    (cache_file,) = tmp_path.iterdir()
    data = json.loads(cache_file.read_text())
    for entry in data["files"].values():
        entry["facts"] = {"receivers": 5, "imports": None, "includes": 7}
    cache_file.write_text(json.dumps(data))
    assert find_unconnected(configs) == expected
    assert json.loads(cache_file.read_text())["files"] != data["files"]  # rewritten
