"""Small printing helpers shared by command modules."""
from __future__ import annotations

import json
import sys


def echo(args, text: str = "") -> None:
    """Print unless -q."""
    if not getattr(args, "quiet", False):
        print(text)


def print_json(data) -> None:
    json.dump(data, sys.stdout)
    print()
