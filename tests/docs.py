"""Read docs/sandbox.md, and the code blocks in it, so tests keep the doc true."""

from __future__ import annotations

import re
from pathlib import Path

SANDBOX_DOC = Path(__file__).resolve().parents[1] / "docs" / "sandbox.md"


def sandbox_doc() -> str:
    """Return the text of docs/sandbox.md."""
    return SANDBOX_DOC.read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    """Return the fenced code blocks of docs/sandbox.md in `language`."""
    return re.findall(rf"^```{language}\n(.*?)^```$", sandbox_doc(), flags=re.S | re.M)
