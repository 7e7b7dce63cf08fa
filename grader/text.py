"""One treatment for every string that came from the student's side of the boundary.

Messages, tracebacks, stdout/stderr tails and file names are written by code we do not trust.
`clean` makes such a string safe to store and to show anywhere: terminal escape sequences are
dropped whole, other control characters removed (tab and newline stay), lone surrogates and the
two non-characters that XML 1.0 forbids replaced, bidirectional overrides removed (they make a
terminal show text in another order than it is stored), and the length capped with a line that
says how much was cut. What it returns is valid XML 1.0 text and valid UTF-8, and `clean` of it
is itself (so reports may clean again what the runner already cleaned).

Escaping for a format happens at render time, on cleaned text: `markdown` and `html` here; the
table uses `rich.text.Text` (never markup), JUnit uses ElementTree's own escaping.
"""
from __future__ import annotations

import html as _html
import re

LIMIT = 4096          # characters kept of one message
LINES = 60            # lines kept of one message
MIN_LIMIT = 160       # the smallest cap a report's budget may impose
_MARK_ROOM = 48       # room kept for the "… N characters cut" line, so a cut text is <= limit

_ESCAPES = re.compile(r"""
      \x1b\[[0-?]*[ -/]*[@-~]?             # CSI: colours, cursor moves, erase (ESC [ ... final)
    | \x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?  # OSC: window titles, hyperlinks (to BEL or ST)
    | \x1b[PX^_][^\x1b\n]*(?:\x1b\\)?       # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                      # the other escapes (charset designation, ESC c, ...)
    | \x9b[0-?]*[ -/]*[@-~]?                # 8-bit CSI
""", re.VERBOSE)
# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates and
# marks, and U+FFFE/U+FFFF (not XML 1.0 characters)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                       "\u2066-\u2069\ufffe\uffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_CUT = re.compile(r"\n?… (\d+) characters cut\n?")


def as_text(value) -> str:
    """Whatever came back as a message, as `str` (bytes decoded leniently, None as '')."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if type(value) is str:
        return value
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a str subclass or odd object: say what it was
        return f"<unprintable {type(value).__name__}>"


def scrub(s: str) -> str:
    """Remove escape sequences and control characters; no length cap."""
    s = _SURROGATES.sub("\ufffd", s)
    s = _ESCAPES.sub("", s)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", s)


def clean(value, limit: int = LIMIT, lines: int = LINES) -> str:
    """The one function every student-controlled string goes through before any report sees it.

    At most `limit` characters and fewer than `lines` lines come back; a longer text keeps its
    head (the first line usually says what failed) and its tail (the exception), with
    "… N characters cut" between them.
    """
    s = as_text(value)
    limit, lines = max(int(limit), MIN_LIMIT), max(int(lines), 6)
    raw = 4 * max(limit, LIMIT)
    if len(s) > raw:  # bound the work before scrubbing a huge text: it can only get shorter
        return _cut(scrub(s[: raw - limit]), scrub(s[-limit:]), len(s) - raw, limit, lines)
    s = scrub(s)
    if len(s) <= limit and s.count("\n") < lines:
        return s
    m = _CUT.search(s)
    if m:  # cut before, with a larger limit: one marker that counts both cuts
        return _cut(s[: m.start()], s[m.end():], int(m.group(1)), limit, lines)
    return _cut(s, "", 0, limit, lines)


def _cut(head: str, tail: str, cut: int, limit: int, lines: int) -> str:
    """`head`, then `cut` characters not shown, then `tail`: made to fit `limit` and `lines`."""
    keep = limit - _MARK_ROOM
    n_tail = keep // 4
    n_head = keep - n_tail
    l_tail = max(lines // 3 - 1, 1)
    l_head = lines - l_tail - 2
    if not tail:  # one text: its tail is its own end
        tail = _take_tail(head[-n_tail:], l_tail)
        head = head[: len(head) - len(tail)]
    new_head = _take_head(head[:n_head], l_head)
    new_tail = _take_tail(tail[-n_tail:], l_tail)
    cut += len(head) - len(new_head) + len(tail) - len(new_tail)
    return f"{new_head}\n… {cut} characters cut\n{new_tail}"


def _take_head(s: str, n_lines: int) -> str:
    parts = s.split("\n")
    return "\n".join(parts[:n_lines]) if len(parts) > n_lines else s


def _take_tail(s: str, n_lines: int) -> str:
    parts = s.split("\n")
    return "\n".join(parts[-n_lines:]) if len(parts) > n_lines else s


def one_line(value, limit: int = 200) -> str:
    """The first line of a cleaned text, capped (JUnit's `message` attribute, titles)."""
    first = (clean(value, limit=limit * 4).split("\n") or [""])[0]
    return first if len(first) <= limit else first[: limit - 1] + "…"


# -- per-format escaping of cleaned text ----------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")


def markdown(s: str) -> str:
    """Cleaned text as inline Markdown (one table cell): no markup, links, HTML or pipes of the
    student's survive; newlines become <br> and leading spaces stay (caret lines align)."""
    out = []
    for line in s.split("\n"):
        body = line.lstrip(" ")
        esc = _MD_SPECIAL.sub(r"\\\1", _html.escape(body, quote=False))
        out.append("&nbsp;" * (len(line) - len(body)) + esc)
    return "<br>".join(out)


def html(s: str) -> str:
    return _html.escape(s, quote=True)
