"""Reading project sources at their edges: ``@receiver`` written every way, and
files that are gone, not UTF-8 or not Python (``None``: cannot tell, never a
guess)."""

from __future__ import annotations

from signal_inspector.sourcefacts import SourceCache
from signal_inspector.unconnected import find_receivers

SOURCE = '''
from django import dispatch
from django.db.models.signals import post_save
from django.dispatch import receiver

@receiver(signal=post_save, sender="shop.Order")
def by_keyword(sender, **kwargs): ...

@dispatch.receiver(post_save)
def by_attribute(sender, **kwargs): ...

@receiver()
def without_signal(sender, **kwargs): ...

@registry["receiver"](post_save)
def not_a_receiver(sender, **kwargs): ...
'''


def test_receiver_decorators_are_read_however_they_are_written() -> None:
    assert [(r["name"], r["signal"]) for r in find_receivers(SOURCE)] == [
        ("by_keyword", "post_save"),
        ("by_attribute", "post_save"),
        ("without_signal", "?"),
    ]


def test_a_file_that_is_gone_tells_nothing(tmp_path) -> None:
    cache = SourceCache("edges", str(tmp_path), load=False)
    missing = str(tmp_path / "gone.py")
    assert cache.facts(missing) is None
    assert cache.mentions(missing, {"post_save"}) is None


def test_a_file_that_is_not_python_tells_nothing(tmp_path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("post_save.connect(handler\n")
    cache = SourceCache("edges", str(tmp_path), load=False)
    assert cache.facts(str(broken)) is None
    assert cache.mentions(str(broken), {"post_save"}) is None
    # A name it does not contain needs no parse: known absent.
    assert SourceCache("edges", str(tmp_path), load=False).mentions(str(broken), {"pre_save"}) == {
        "pre_save": []
    }


def test_a_file_that_is_not_utf8_tells_nothing(tmp_path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes("# caf\xe9\npost_save.connect(handler)\n".encode("latin-1"))
    cache = SourceCache("edges", str(tmp_path), load=False)
    assert cache.facts(str(latin)) is None
    assert cache.mentions(str(latin), {"post_save"}) is None
