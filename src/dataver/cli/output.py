"""Small printing helpers shared by command modules."""
from __future__ import annotations

import sys


def echo(args, text: str = "") -> None:
    """Print unless -q."""
    if not getattr(args, "quiet", False):
        print(text)


def print_json(data) -> None:
    import json  # lazy: most runs print no JSON

    json.dump(data, sys.stdout)
    print()
