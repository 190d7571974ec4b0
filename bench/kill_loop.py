"""The SIGKILL loop of tests/test_kill.py with many more kills than CI runs.

python bench/kill_loop.py [--kills 50]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    args = parser.parse_args()
    os.environ["FOOTNOTES_KILL_ITERATIONS"] = str(args.kills)
    sys.exit(pytest.main(["-q", "-s", str(ROOT / "tests" / "test_kill.py")]))
