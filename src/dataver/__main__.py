"""Allow `python -m dataver`."""
from dataver.cli.main import entry

entry()
