"""The package's import graph has no cycles: every ``import`` of a network3
module, at the top of a module or inside a function, is an edge, and the
graph must be acyclic (data flows one way: data -> layers -> Network ->
back end -> the SGD loop)."""

import ast
import os

import network3

PACKAGE = os.path.dirname(os.path.abspath(network3.__file__))


def module_name(path, root):
    parts = os.path.relpath(path, os.path.dirname(root))[:-len(".py")].split(os.sep)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name, root):
    """Whether ``name`` (network3.x.y) is a module or package under ``root``."""
    path = os.path.join(os.path.dirname(root), *name.split("."))
    return os.path.isfile(path + ".py") or os.path.isdir(path)


def import_graph(root=PACKAGE):
    """{module: set of network3 modules it imports}, for every module under root."""
    graph = {}
    for folder, _, files in os.walk(root):
        for filename in files:
            if not filename.endswith(".py"):
                continue
            path = os.path.join(folder, filename)
            me = module_name(path, root)
            edges = graph.setdefault(me, set())
            for node in ast.walk(ast.parse(open(path).read(), path)):
                if isinstance(node, ast.Import):
                    edges.update(a.name for a in node.names
                                 if a.name.split(".")[0] == "network3")
                elif isinstance(node, ast.ImportFrom) and node.module and \
                        node.module.split(".")[0] == "network3" and node.level == 0:
                    for alias in node.names:
                        sub = node.module + "." + alias.name
                        edges.add(sub if is_module(sub, root) else node.module)
            edges.discard(me)
    return graph


def find_cycle(graph):
    """A list of modules forming a cycle, or None."""
    state = {}

    def visit(module, path):
        state[module] = "visiting"
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "visiting":
                return path[path.index(other):] + [other]
            if other not in state:
                cycle = visit(other, path + [other])
                if cycle:
                    return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [module])
            if cycle:
                return cycle
    return None


def test_no_import_cycles():
    graph = import_graph()
    assert "network3.training" in graph and "network3.backends.jax" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_only_the_package_imports_the_package():
    """A module that imports ``network3`` itself (the package, which
    imports every module) closes a cycle; the graph sees such imports."""
    graph = import_graph()
    for module, edges in graph.items():
        if module != "network3":
            assert "network3" not in edges, module
