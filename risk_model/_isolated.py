"""LightGBM's own parser, run first in a throwaway process, so that it cannot abort ours.

A model text that LightGBM's C++ parser cannot read does not always raise: a text cut short
aborts the process (SIGABRT) or crashes it (SIGSEGV), and no Python handler runs. So before
a bundle's boosters are parsed in-process, `probe_model_texts` hands the same texts to
LightGBM's C library in a child process (this file run as a script: the standard library and
`ctypes` only, no numpy or lightgbm import, about 0.1 s) and reports how it ended. A text the
child parsed is parsed in-process next; one that killed the child raises `ProbeError`, naming
the file and the signal.

The child reads `name<TAB>size<LF>` then `size` bytes per text on stdin and writes one marker
line per step on stdout (LightGBM's own log lines go there too, and are quoted on failure).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ProbeError", "probe_model_texts"]

_MARK = "@@settlewatch-probe"
#: a parse of our largest boosters takes about 0.05 s; anything near this is a hung parser
_TIMEOUT_SECONDS = 60.0


class ProbeError(ValueError):
    """LightGBM refused, or died on, one of the texts (`name`)."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        self.detail = detail
        super().__init__(f"{name}: {detail}")


def _library() -> str:
    import lightgbm.basic  # the parent has LightGBM loaded anyway: ask where its library is

    # the loaded CDLL, so the child parses with the very library this process uses
    return str(getattr(lightgbm.basic, "_LIB")._name)  # noqa: B009 - not re-exported


def probe_model_texts(
    texts: Mapping[str, str], *, timeout_seconds: float = _TIMEOUT_SECONDS
) -> None:
    """Parse each named model text with LightGBM in a child process.

    Raises:
        ProbeError: LightGBM reported an error on a text, or the child died or hung on it.
    """
    if not texts:
        return
    payload = bytearray()
    for name, text in texts.items():
        data = text.encode("utf-8")
        payload += f"{name}\t{len(data)}\n".encode() + data
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one tree at a time is plenty for a parse
    names = list(texts)
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(Path(__file__)), _library()],
            input=bytes(payload),
            capture_output=True,
            timeout=timeout_seconds,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        started = _started(exc.stdout or b"")
        culprit = started[-1] if started else names[0]
        raise ProbeError(
            culprit, f"LightGBM did not finish parsing it in {timeout_seconds:g} s"
        ) from None
    out = done.stdout.decode("utf-8", "replace")
    ok = {line.split(" ")[2] for line in out.splitlines() if line.startswith(f"{_MARK} ok ")}
    for line in out.splitlines():
        if line.startswith(f"{_MARK} error "):
            _, _, name, message = line.split(" ", 3)
            raise ProbeError(name, f"LightGBM refused it: {message}")
    if done.returncode == 0 and ok == set(names):
        return
    culprit = next((n for n in names if n not in ok), names[0])
    said = [
        line.strip()
        for line in (out + done.stderr.decode("utf-8", "replace")).splitlines()
        if line.strip() and not line.startswith(_MARK)
    ]
    quoted = f" (it said: {said[-1][:200]})" if said else ""
    if done.returncode < 0:
        try:
            how = signal.Signals(-done.returncode).name
        except ValueError:
            how = f"signal {-done.returncode}"
        raise ProbeError(culprit, f"LightGBM's parser crashed on it ({how}){quoted}")
    raise ProbeError(culprit, f"LightGBM's parser exited with code {done.returncode}{quoted}")


def _started(stdout: bytes) -> list[str]:
    text = stdout.decode("utf-8", "replace")
    return [line.split(" ")[2] for line in text.splitlines() if line.startswith(f"{_MARK} start ")]


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()  # the parent learns which text was being parsed if the next step dies


def _child(library: str) -> int:
    """Parse every text from stdin with LightGBM's C API; 0 when all parsed."""
    import ctypes

    lib = ctypes.cdll.LoadLibrary(library)
    lib.LGBM_GetLastError.restype = ctypes.c_char_p
    stdin = sys.stdin.buffer
    while header := stdin.readline():
        name, size = header.decode("utf-8").rstrip("\n").split("\t")
        text = stdin.read(int(size))
        _say(f"{_MARK} start {name}")
        handle = ctypes.c_void_p()
        iterations = ctypes.c_int(0)
        if lib.LGBM_BoosterLoadModelFromString(
            ctypes.c_char_p(text), ctypes.byref(iterations), ctypes.byref(handle)
        ):
            message = (lib.LGBM_GetLastError() or b"").decode("utf-8", "replace")
            _say(f"{_MARK} error {name} {' '.join(message.split())}")
            return 1
        # what `lightgbm.Booster(model_str=...)` asks next; the parameters' section is
        # parsed only here, and a cut one crashes too
        classes = ctypes.c_int(0)
        size_out = ctypes.c_int64(0)
        buffer = ctypes.create_string_buffer(1 << 20)
        if lib.LGBM_BoosterGetNumClasses(
            handle, ctypes.byref(classes)
        ) or lib.LGBM_BoosterGetLoadedParam(
            handle, ctypes.c_int64(len(buffer)), ctypes.byref(size_out), buffer
        ):
            message = (lib.LGBM_GetLastError() or b"").decode("utf-8", "replace")
            _say(f"{_MARK} error {name} {' '.join(message.split())}")
            return 1
        lib.LGBM_BoosterFree(handle)
        _say(f"{_MARK} ok {name} {iterations.value}")
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
