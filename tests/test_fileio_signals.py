"""An interrupt that lands right after the temporary file is created leaves nothing behind.

The signal is real (sent to this process with os.kill) and timed by wrapping
the real tempfile.mkstemp: the moment it returns is where a SIGINT or SIGTERM
arriving during its open() call would be handled without the guard. The write
holds such signals until the rename is done, so the file is then fully new.
"""

from __future__ import annotations

import os
import signal
import tempfile

import pytest

from domxml_lint import fileio


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_interrupt_right_after_the_temp_file_is_created(tmp_path, monkeypatch, signal_number):
    target = tmp_path / "vm.xml"
    target.write_bytes(b"<domain/>\n")
    real_mkstemp = tempfile.mkstemp

    def mkstemp_then_signal(*args, **kwargs):
        result = real_mkstemp(*args, **kwargs)
        os.kill(os.getpid(), signal_number)
        return result

    def handler(_signum, _frame):
        raise Interrupted

    previous = signal.signal(signal_number, handler)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_then_signal)
    try:
        with pytest.raises(Interrupted):
            fileio.write_atomic(str(target), b"<domain type='kvm'/>\n")
    finally:
        signal.signal(signal_number, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vm.xml"]
    assert target.read_bytes() == b"<domain type='kvm'/>\n"  # the signal waited for the rename
