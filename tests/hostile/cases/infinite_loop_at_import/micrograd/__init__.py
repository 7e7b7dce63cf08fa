"""Hostile test case (see CASE.yaml): not a real micrograd."""
while True:
    pass
