"""Text from documents and data as pages show it.

Jinja's autoescaping makes such text inert HTML, but Unicode's bidirectional controls (embeddings,
overrides, isolates: U+202A-U+202E, U+2066-U+2069) still act: one in a title, a memo or a document
can reverse the order in which the rest of its line reads, so that a coder sees words other than
those stored and matched ("Trojan Source", CVE-2021-42574). Every page environment
(``finalize=visible_controls``) shows each as U+FFFD, the replacement character: one code point for
one, so the workbench's offsets into a document's text stay those of the stored text. Right-to-left
scripts need none of these controls and read as before.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

REPLACEMENT = "\ufffd"
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], REPLACEMENT)


def visible_controls(value: Any) -> Any:
    """``value`` with each bidirectional control shown as U+FFFD; anything other than text as it is
    (markup stays markup)."""
    if not isinstance(value, str):
        return value
    shown = value.translate(_BIDI_CONTROLS)
    if shown == value:
        return value
    return Markup(shown) if isinstance(value, Markup) else shown
