"""Where things are, for tests and the bench (never ``../shared``: a fresh clone has none)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
