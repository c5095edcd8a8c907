"""Rendering through the real Graphviz when it fails: a clear ``GraphvizError``
for its error, for a run past the time limit and for a ``dot`` that cannot run."""

from __future__ import annotations

import shutil

import pytest

from signal_inspector import graphs
from signal_inspector.graphs import GraphvizError

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def test_dots_own_error_is_reported_with_its_message() -> None:
    with pytest.raises(GraphvizError, match=r"^Graphviz's dot failed \(exit 1\): .*syntax error"):
        graphs.render("digraph { a -> }", "svg")


def test_a_render_past_the_time_limit_says_how_to_narrow_it() -> None:
    with pytest.raises(GraphvizError, match=r"took longer than 1e-09 s; write --format dot"):
        graphs.render("digraph { a -> b }", "svg", timeout=1e-9)


def test_a_dot_that_cannot_run_is_reported(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "dot"
    fake.write_text("not a program")  # not executable
    monkeypatch.setattr(graphs, "dot_path", lambda: str(fake))
    with pytest.raises(GraphvizError, match=rf"^Graphviz's dot \({fake}\) could not run: "):
        graphs.render("digraph { a -> b }", "svg")
