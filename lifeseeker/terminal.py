"""Text that is safe to print on a terminal: control characters shown as escapes, never sent raw.

A file name, caption, OCR text or collection root may hold any character. Sent raw to a terminal, ESC (0x1b) and
the C1 CSI (0x9b) start control sequences that recolour the screen, retitle the window or move the cursor (ECMA-48,
sections 5.3-5.4), a carriage return or newline lets one value forge a line of its own (a fake "seen 999, indexed
999" summary), and the bidirectional overrides (Unicode UAX #9, U+202A-U+202E, U+2066-U+2069) reorder what is shown.
:func:`printable` escapes a single value (newlines too); :func:`printable_lines` escapes a block of output lines
(keeps its newlines and tabs). Used by every CLI command (``cli/options.echo``) and the ingest report. Depends on
nothing of ``lifeseeker``.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_CONTROLS = ([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7f, 0xa0)]
             + [chr(c) for c in (*range(0x202a, 0x202f), *range(0x2066, 0x206a), 0x2028, 0x2029, 0x200e, 0x200f,
                                 0x061c)])
_VALUE_TABLE = str.maketrans({ch: _escape(ch) for ch in _CONTROLS})
_LINES_TABLE = str.maketrans({ch: _escape(ch) for ch in _CONTROLS if ch not in "\n\t"})


def printable(value: object) -> str:
    """``str(value)`` with every C0/C1 control character (newline, carriage return and tab included), the
    bidirectional controls and the line/paragraph separators written as backslash escapes (``\\n``, ``\\x1b``,
    ``\\u202e``); other characters (accents, CJK, emoji) unchanged. For one value inside a line of output."""
    return str(value).translate(_VALUE_TABLE)


def printable_lines(text: object) -> str:
    """Like :func:`printable` but keeps newlines and tabs: for a block of output whose line structure is the
    program's own (the values in it should have gone through :func:`printable` already)."""
    return str(text).translate(_LINES_TABLE)


__all__ = ["printable", "printable_lines"]
