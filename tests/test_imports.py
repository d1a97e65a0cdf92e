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


#### Sizes a newcomer can read
def oversized(root=PACKAGE):
    """Modules over 500 lines, classes over 200, and functions whose code
    (their docstring aside) is over 60 lines, as ``(path, name, lines)``."""
    found = []
    for folder, _, files in os.walk(root):
        for filename in (f for f in files if f.endswith(".py")):
            path = os.path.join(folder, filename)
            text = open(path).read()
            if len(text.splitlines()) > 500:
                found.append((path, "module", len(text.splitlines())))
            for node in ast.walk(ast.parse(text, path)):
                if isinstance(node, ast.ClassDef):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > 200:
                        found.append((path, node.name, lines))
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    first = node.body[0]
                    documented = isinstance(first, ast.Expr) and isinstance(
                        getattr(first, "value", None), ast.Constant) and isinstance(
                        first.value.value, str)
                    start = first.end_lineno + 1 if documented else node.lineno
                    if node.end_lineno - start + 1 > 60:
                        found.append((path, node.name, node.end_lineno - start + 1))
    return found


def test_no_module_class_or_function_is_too_long(tmp_path):
    assert oversized() == []
    # the measure can fail: a module of 501 lines, a class of 201, a function of 61
    (tmp_path / "big.py").write_text("\n".join(
        ["class Big(object):"] + ["    x{0} = {0}".format(k) for k in range(200)] +
        ["def f():", '    """Doc."""'] + ["    y = 1"] * 61 + ["z = 0"] * 237))
    names = sorted(name for _, name, _ in oversized(str(tmp_path)))
    assert names == ["Big", "f", "module"]
