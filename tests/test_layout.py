"""The layout's one-way imports: runtime <- train.show <- training; the bench on top.

Read from the source (every ``import``, also those inside functions), so a
lazy import of TensorFlow or of a training module is caught too.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: what needs TensorFlow/scikit-learn, directly or through train.model/export
HEAVY = {"tensorflow", "keras", "sklearn"}


def imports(path: pathlib.Path, package: str = "") -> set:
    """Absolute dotted names ``path`` (a module of ``package``; default: from its place
    under the repository) imports, relative imports resolved."""
    package = package or ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out |= {base + "." + a.name for a in node.names}
    return out


def modules(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def module_name(path: pathlib.Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", modules("train/show"), ids=module_name)
def test_show_imports_only_the_runtime_and_itself(path):
    bad = sorted(n for n in imports(path)
                 if (inside(n, "train") and not inside(n, "train.show"))
                 or n.split(".")[0] in HEAVY)
    assert not bad, "%s imports %s: train.show must run without TensorFlow or training" % (
        path.relative_to(ROOT), bad)


@pytest.mark.parametrize("path", modules("lightshowpi_autoencoder"), ids=module_name)
def test_runtime_imports_no_training(path):
    # (the encoder may borrow tf.lite when the process already has TensorFlow)
    bad = sorted(n for n in imports(path) if inside(n, "train"))
    assert not bad, "%s imports %s: the runtime stands alone" % (path.relative_to(ROOT), bad)


@pytest.mark.parametrize("path", [p for p in modules("train") if not inside(module_name(p), "train.bench")
                                  and module_name(p) != "train.cli"], ids=module_name)
def test_nothing_below_the_bench_imports_it(path):
    bad = sorted(n for n in imports(path) if inside(n, "train.bench"))
    assert not bad, "%s imports %s: the bench sits on top" % (path.relative_to(ROOT), bad)


def test_the_check_sees_a_lazy_import(tmp_path):
    """The walk finds imports inside functions and resolves relative ones."""
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from ..model import Autoencoder\n    import tensorflow\n")
    names = imports(fake, "train.show")
    assert {"train.model", "train.model.Autoencoder", "tensorflow"} <= names


def _exists(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@pytest.mark.parametrize("path", modules("train") + modules("lightshowpi_autoencoder"),
                         ids=module_name)
def test_every_import_of_the_project_names_a_module_that_is_there(path):
    """Lazy imports run only with what they need (a checkout, TensorFlow): a moved module
    would fail there, so their targets are checked from the source. ``from A import B``
    needs A to be a module here (B a name in it, or a module when A is a package)."""
    project = ("train", "lightshowpi_autoencoder")
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] in project and not _exists(base):
                missing.append(base)
            init = ROOT.joinpath(*base.split(".")) / "__init__.py"
            for a in node.names:        # ``from package import x``: a module, or a name of its own
                if (base.split(".")[0] in project and init.is_file()
                        and not _exists(base + "." + a.name) and a.name not in init.read_text()):
                    missing.append(base + "." + a.name)
        elif isinstance(node, ast.Import):
            missing += [a.name for a in node.names
                        if a.name.split(".")[0] in project and not _exists(a.name)]
    assert not missing, "%s imports %s, which is not there" % (path.relative_to(ROOT), missing)
