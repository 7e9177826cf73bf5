"""Read the docs (docs/sandbox.md, docs/plugins.md), and the code blocks in them, so tests keep them true."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
SANDBOX_DOC = DOCS / "sandbox.md"
PLUGINS_DOC = DOCS / "plugins.md"


def sandbox_doc() -> str:
    """Return the text of docs/sandbox.md."""
    return SANDBOX_DOC.read_text(encoding="utf-8")


def code_blocks(language: str, doc: Path = SANDBOX_DOC) -> list[str]:
    """Return the fenced code blocks of a doc (docs/sandbox.md by default) in `language`."""
    return re.findall(rf"^```{language}\n(.*?)^```$", doc.read_text(encoding="utf-8"), flags=re.S | re.M)
