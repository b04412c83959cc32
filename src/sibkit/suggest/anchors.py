"""What a theme's sentences are compared with: its definition and examples (and counter-examples)."""

from __future__ import annotations

from sibkit.coding.codebook import Theme


def anchor_texts(theme: Theme) -> list[tuple[str, str]]:
    """(label, text) for the theme's definition (with its name) and each example sentence."""
    out = []
    if theme.definition.strip():
        out.append(("definition", f"{theme.name}: {theme.definition.strip()}"))
    out += [(f"example {i}", text) for i, text in enumerate(theme.examples, start=1)]
    return out
