"""Deliberately broken: it raises while being imported."""


def _fail():
    raise RuntimeError("broken_raise refuses to load")


_fail()
