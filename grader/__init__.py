"""zth: the autograder for "Neural Networks: Zero to Hero"."""
__version__ = "0.1.0"
