"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os

for _fd in range(3, 64):
    try:
        os.write(_fd, b"\xff" * 64 + b"PASSED 100/100")
    except OSError:
        pass
