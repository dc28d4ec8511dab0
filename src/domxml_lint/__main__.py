"""``python -m domxml_lint``."""

from .cli import run

run()
