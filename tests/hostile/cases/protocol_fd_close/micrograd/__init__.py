"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os

os.closerange(3, 256)
