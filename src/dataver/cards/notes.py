"""The user's notes for an output: a Markdown file beside it, ``<output>.notes.md``, in git
(so code review sees it), with the sections of "Datasheets for Datasets" (Gebru et al.).

An optional first block of ``key: value`` lines between ``---`` lines holds settings; today
only ``images: <path>``, the output (relative to the notes file) holding the images that the
COCO files of this output describe, when they live in another output.
"""
from __future__ import annotations

import re

SUFFIX = ".notes.md"
# key, heading, the questions the template asks
SECTIONS = [
    ("motivation", "Motivation", "Why was this dataset made? For which task? Who made it?"),
    ("composition", "Composition", "What do the instances stand for? How many, which labels, "
                                   "which splits? Is anything missing, noisy or sensitive?"),
    ("collection", "Collection", "How, when and from where was the data gathered? By whom?"),
    ("preprocessing", "Preprocessing / labeling", "What was cleaned, resized or filtered? "
                                                  "Who labeled it, with which tool and guide?"),
    ("uses", "Uses", "What is it used for, and what should it not be used for?"),
    ("distribution", "Distribution", "Who may use it, under which licence?"),
    ("maintenance", "Maintenance", "Who maintains it? How are errors reported and fixed?"),
]
_ALIASES = {"labeling": "preprocessing", "labelling": "preprocessing", "preprocessing": "preprocessing",
            "cleaning": "preprocessing", "use": "uses", "collection process": "collection"}
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def notes_path(output_path: str) -> str:
    """Where the notes of the output at ``output_path`` live (same folder, same name)."""
    return output_path.rstrip("/\\") + SUFFIX


def template(name: str) -> str:
    """A new notes file for the output ``name``: every section, with its questions as
    comments (sections left as they are do not show in cards)."""
    parts = [f"# {name}\n"]
    for _key, heading, questions in SECTIONS:
        parts.append(f"## {heading}\n\n<!-- {questions} -->\n")
    return "\n".join(parts)


def _key(heading: str) -> str:
    text = heading.strip().lower()
    for key, title, _q in SECTIONS:
        if text == title.lower() or text == key:
            return key
    for word, key in _ALIASES.items():
        if text.startswith(word):
            return key
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "notes"


def parse(text: str) -> dict:
    """``{"settings": {...}, "sections": [{"key", "title", "text"}]}`` of a notes file.
    Sections are the ``## `` headings; empty ones (only the template's comments) are left out;
    text before the first heading (besides a ``# `` title) becomes a "summary" section."""
    settings: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].strip() == "---":
        for i, line in enumerate(lines[1:], 1):
            if line.strip() == "---":
                lines = lines[i + 1:]
                break
            key, sep, value = line.partition(":")
            if sep and key.strip():
                settings[key.strip().lower()] = value.strip()
        else:
            lines = lines[1:]  # no closing line: the block is text, not settings
    sections: list[dict] = []
    title, current = "Summary", []

    def close():
        body = _COMMENT.sub("", "\n".join(current)).strip()
        if body:
            sections.append({"key": _key(title) if title != "Summary" else "summary",
                             "title": title, "text": body})

    for line in lines:
        if line.startswith("## "):
            close()
            title, current = line[3:].strip(), []
        elif line.startswith("# ") and not sections and not any(s.strip() for s in current):
            continue  # the document title
        else:
            current.append(line)
    close()
    return {"settings": settings, "sections": sections}
