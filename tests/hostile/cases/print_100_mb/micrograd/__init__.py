"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os
import sys

_line = b"PASSED " * 1000 + b"\n"
for _ in range(100 * 2**20 // len(_line)):
    os.write(1, _line)
    os.write(2, _line)
sys.stdout.flush()
