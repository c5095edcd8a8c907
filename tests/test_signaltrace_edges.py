"""``manage.py signaltrace`` at its edges: a negative ``--max-sends`` (a
``CommandError``, before the traced command runs) and a traced command that
ends with ``sys.exit()`` of no code (exit status 0, as Python gives it, so
signaltrace itself ends normally)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_a_negative_max_sends_is_refused_before_anything_runs() -> None:
    err = StringIO()
    with pytest.raises(CommandError, match=r"^--max-sends must be 0 or more, not -1\.$"):
        call_command("signaltrace", "--max-sends", "-1", "check", stderr=err)
    assert err.getvalue() == ""


@pytest.mark.django_db
def test_a_command_exiting_with_no_code_is_status_0() -> None:
    err = StringIO()
    call_command("signaltrace", "shell", "-c", "import sys; sys.exit()", stderr=err)
    assert "(exit status 0)" in err.getvalue().splitlines()[0]
