"""Hostile test case (see CASE.yaml): not a real micrograd."""
import threading
import time


def _spin():
    while True:
        time.sleep(0.001)


def _chatter():
    while True:
        print("still here", flush=True)
        time.sleep(0.01)


threading.Thread(target=_spin).start()
threading.Thread(target=_chatter, daemon=True).start()
