"""Allow `python -m dataver`."""
import sys

from dataver.cli.main import main

sys.exit(main())
