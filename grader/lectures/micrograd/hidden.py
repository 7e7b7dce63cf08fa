"""Hidden micrograd checks: run on submissions, never shipped to students."""
from __future__ import annotations

from ...check import Context, check
from .checks import ARITH, _dag_check


@check("micrograd.big_graph")
def big_graph(ctx: Context):
    """A few large graphs with many shared nodes: values and gradients vs torch."""
    _dag_check(ctx, ARITH, ctx.params["graphs"], backward=True,
               n_ops=ctx.params["ops"])
