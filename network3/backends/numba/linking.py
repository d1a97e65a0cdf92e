"""backends/numba/linking.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

How long a step function takes to compile.  PyTensor's Numba linker
compiles each node of a graph (a kernel, an elementwise loop, a product) as
a function of its own, optimised by LLVM as it is compiled and cached on
disk, and then the graph's function (``numba_funcified_fgraph``), which
calls them.  Numba links every function it calls into the graph function's
module and runs LLVM's whole optimisation pipeline over the result once
more: a second pass over code already optimised, which took 1.6 of the 3.7
seconds a ReLU net with one size changed took to compile, warm caches
(benchmarks/results/startup.md).

:func:`install` makes that last pass over a graph function the *cheap* one
Numba runs first anyway (inlining, and dropping redundant reference counts):
the functions it calls keep the code LLVM made of them, measured as fast
per step.  No floating-point arithmetic changes: Numba compiles without
fast-math, so LLVM may not reorder or fuse a sum; the seeded reference runs
(tests/reference) are the same bit for bit.

"""

#### Libraries
# Third-party libraries
from numba.core import codegen, config

#: The name PyTensor's Numba linker gives a graph's function.
GRAPH_FUNCTION = "numba_funcified_fgraph"


def install():
    """Give graph functions the cheap final pass (once per process)."""
    library = codegen.CPUCodeLibrary
    if getattr(library._optimize_final_module, "network3", False):
        return
    full = library._optimize_final_module

    def optimize_final_module(self):
        if self.name != GRAPH_FUNCTION:
            return full(self)
        passes, builder = self._codegen._module_pass_manager(
            loop_vectorize=self._codegen._loopvect, slp_vectorize=False,
            opt=self._codegen._opt_level, cost="cheap")
        passes.run(self._final_module, builder)
        if not config.LLVM_REFPRUNE_PASS:     # (as Numba does after its cheap pass)
            self._final_module = codegen.remove_redundant_nrt_refct(self._final_module)

    optimize_final_module.network3 = True
    optimize_final_module.full = full        # (Numba's own)
    library._optimize_final_module = optimize_final_module
