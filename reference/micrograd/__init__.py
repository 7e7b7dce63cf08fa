"""Lecture 1: micrograd, a tiny scalar-valued autograd engine and a neural net library on top."""
