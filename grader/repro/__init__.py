"""Reproductions of each lecture's headline result (`zth reproduce LECTURE`)."""
