"""The per-rule conda envs (envs/*.yaml), checked without conda (none is available here).

- every env file parses and pins every dependency (`name=version`; pip entries `name==version`);
- every rule that runs a script names an env under envs/ and that env exists;
- each rule's script imports only packages its env provides: the script's imports are followed
  transitively through `_runner` and every `entangle` module it reaches (module-level and lazy
  imports inside functions alike; imports guarded by `except ImportError` or `if TYPE_CHECKING` are
  optional and skipped), the standard library is excluded, and import names are mapped to conda
  package names (sklearn -> scikit-learn, yaml -> pyyaml, torch -> pytorch, ...);
- the project itself reaches the env the documented way: every script imports `_runner` (which puts
  the checkout's src/ on sys.path) before anything from `entangle`, so no env installs the project.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
ENVS = sorted((REPO / "envs").glob("*.yaml"))

# import name -> conda-forge package name(s) providing it (any one of them suffices)
CONDA_NAME = {
    "sklearn": ("scikit-learn",),
    "yaml": ("pyyaml",),
    "PIL": ("pillow",),
    "torch": ("pytorch", "pytorch-cpu", "pytorch-gpu"),
    "matplotlib": ("matplotlib-base", "matplotlib"),
    "mpl_toolkits": ("matplotlib-base", "matplotlib"),
    "huggingface_hub": ("huggingface_hub", "huggingface-hub"),
    "IPython": ("ipython",),
    "skimage": ("scikit-image",),
    "cv2": ("opencv",),
    "bs4": ("beautifulsoup4",),
    "dateutil": ("python-dateutil",),
}
PIN = re.compile(r"^[A-Za-z0-9_.\-]+=[0-9][A-Za-z0-9_.*+!-]*$")          # conda: name=version
PIP_PIN = re.compile(r"^[A-Za-z0-9_.\-\[\],]+==[0-9][A-Za-z0-9_.+!-]*$")  # pip: name==version


def conda_names(import_name: str) -> tuple[str, ...]:
    return CONDA_NAME.get(import_name, (import_name, import_name.replace("_", "-")))


def env_packages(env_file: Path) -> set[str]:
    deps = yaml.safe_load(env_file.read_text())["dependencies"]
    names = set()
    for dep in deps:
        if isinstance(dep, dict):
            names.update(re.split(r"[=<>\[]", d)[0].lower() for d in dep.get("pip", []))
        else:
            names.add(re.split(r"[=<> ]", dep)[0].split("::")[-1].lower())
    return names


# --- env files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("env_file", ENVS, ids=lambda p: p.name)
def test_env_parses_and_pins_every_package(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert isinstance(env, dict) and env.get("name") and env.get("channels"), f"{env_file.name}: name/channels"
    deps = env["dependencies"]
    assert deps, f"{env_file.name}: no dependencies"
    unpinned = []
    for dep in deps:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"{env_file.name}: unexpected entry {dep}"
            unpinned += [d for d in dep["pip"] if not PIP_PIN.match(d)]
        elif not PIN.match(str(dep)):
            unpinned.append(dep)
    assert not unpinned, f"{env_file.name}: not pinned as name=version: {unpinned}"
    assert any(str(d).startswith("python=") for d in deps), f"{env_file.name}: python not pinned"


def test_there_are_envs():
    assert {p.stem for p in ENVS} >= {"data", "torch", "analysis"}


# --- rules -> (env, script) -----------------------------------------------------------------------------

RULE_START = re.compile(r"^\s*rule\b[^:]*:\s*$")


def rule_blocks():
    """(file, first line, block text) of every rule in rules/*.smk (named or anonymous)."""
    for smk in sorted((REPO / "rules").glob("*.smk")):
        lines = smk.read_text().splitlines()
        starts = [i for i, line in enumerate(lines) if RULE_START.match(line)]
        for a, b in zip(starts, starts[1:] + [len(lines)]):
            yield smk, a + 1, "\n".join(lines[a:b])


def directive(block: str, name: str) -> str | None:
    m = re.search(rf"^\s*{name}:\s*\n\s*[\"']([^\"']+)[\"']", block, re.M)
    return m.group(1) if m else None


def rule_scripts():
    pairs = []
    for smk, line, block in rule_blocks():
        script = directive(block, "script")
        if script is None:
            continue
        pairs.append((f"{smk.name}:{line}", directive(block, "conda"),
                      (smk.parent / script).resolve()))
    return pairs


RULE_SCRIPTS = rule_scripts()


def test_rules_with_scripts_are_found():
    assert len(RULE_SCRIPTS) >= 15
    scripts = {p.name for _, _, p in RULE_SCRIPTS}
    assert {"make_text.py", "train_model.py", "capture.py", "manifest.py"} <= scripts


@pytest.mark.parametrize("where,env,script", RULE_SCRIPTS, ids=[f"{w}-{s.name}" for w, _, s in RULE_SCRIPTS])
def test_rule_names_an_existing_env(where, env, script):
    assert env, f"{where}: rule running {script.name} has no conda: directive"
    assert env.startswith("../envs/") and env.endswith(".yaml"), f"{where}: env {env} is not under envs/"
    assert (REPO / "rules" / env).resolve().exists(), f"{where}: {env} does not exist"
    assert script.exists(), f"{where}: {script} does not exist"


# --- imports --------------------------------------------------------------------------------------------

def _optional(node: ast.AST, parents: dict) -> bool:
    """Inside `try: ... except ImportError` or `if TYPE_CHECKING:`."""
    child, node = node, parents.get(node)
    while node is not None:
        if isinstance(node, ast.Try) and child in node.body:
            for h in node.handlers:
                names = [h.type] if not isinstance(h.type, ast.Tuple) else list(h.type.elts)
                if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
                    return True
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and child in node.body:
            return True
        child, node = node, parents.get(node)
    return False


def module_file(module: str) -> Path | None:
    """The source of an `entangle...` module or the scripts' `_runner`."""
    if module == "_runner":
        return REPO / "scripts" / "_runner.py"
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1])
    return ".".join(parts[:-1])


@lru_cache(maxsize=None)
def direct_imports(path: Path) -> tuple[frozenset, frozenset]:
    """(third-party or stdlib top-level names, project modules) imported by one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    external, project = set(), set()

    def add(module: str):
        top = module.split(".")[0]
        if top in ("entangle", "_runner"):
            # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c
            parts = module.split(".")
            project.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        else:
            external.add(top)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and not _optional(node, parents):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom) and not _optional(node, parents):
            if node.level:  # relative import inside the package
                pkg = _package_of(path).split(".")
                base = pkg[: len(pkg) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            add(module)
            if module.split(".")[0] == "entangle":  # `from entangle.x import y` may import submodule y
                for alias in node.names:
                    if module_file(f"{module}.{alias.name}") is not None:
                        add(f"{module}.{alias.name}")
    return frozenset(external), frozenset(project)


def script_imports(script: Path) -> dict[str, str]:
    """Every external top-level import reachable from a script -> the file that imports it first."""
    found: dict[str, str] = {}
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        external, project = direct_imports(path)
        for name in sorted(external):
            found.setdefault(name, str(path.relative_to(REPO)))
        for module in sorted(project):
            f = module_file(module)
            assert f is not None or module == "entangle", f"{path}: cannot resolve project module {module}"
            if f is not None:
                todo.append(f)
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    return {k: v for k, v in found.items() if k not in stdlib}


@pytest.mark.parametrize("where,env,script", RULE_SCRIPTS, ids=[f"{w}-{s.name}" for w, _, s in RULE_SCRIPTS])
def test_script_imports_only_what_its_env_provides(where, env, script):
    assert env
    provided = env_packages((REPO / "rules" / env).resolve())
    missing = {name: by for name, by in script_imports(script).items()
               if not any(c.lower() in provided for c in conda_names(name))}
    assert not missing, (f"{where}: {script.name} runs in {Path(env).name}, which lacks "
                         + ", ".join(f"{n} (conda: {conda_names(n)[0]}; imported by {by})" for n, by in missing.items()))


def test_import_follower_sees_lazy_and_transitive_imports():
    imports = script_imports(REPO / "scripts" / "train_model.py")
    assert "torch" in imports and "tqdm" in imports  # tqdm only via entangle.models.train
    assert "snakemake" not in imports  # scripts get `snakemake` as a global, never import it


@pytest.mark.parametrize("script", sorted({s for _, _, s in RULE_SCRIPTS}), ids=lambda p: p.name)
def test_scripts_get_the_project_from_the_checkout(script):
    """`_runner` (which puts src/ on sys.path) is imported before anything from entangle."""
    tree = ast.parse(script.read_text())
    order = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            order.append(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            order += [a.name.split(".")[0] for a in node.names]
    assert "_runner" in order, f"{script.name} does not import _runner"
    if "entangle" in order:
        assert order.index("_runner") < order.index("entangle"), f"{script.name} imports entangle before _runner"


# --- env pins = the versions the test suite runs with (requirements.lock, torch from the Makefile) -------

PIP_NAME = {"matplotlib-base": "matplotlib", "pytorch": "torch", "huggingface_hub": "huggingface-hub"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions() -> dict[str, str]:
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if m:
            lock[_norm(m.group(1))] = m.group(2)
    m = re.search(r"^TORCH \?= torch==(\S+)", (REPO / "Makefile").read_text(), re.M)
    if m:
        lock["torch"] = m.group(1)
    return lock


@pytest.mark.parametrize("env_file", ENVS, ids=lambda p: p.name)
def test_env_pins_match_the_tested_versions(env_file):
    lock = locked_versions()
    mismatched = []
    for dep in yaml.safe_load(env_file.read_text())["dependencies"]:
        if isinstance(dep, dict) or str(dep).startswith("python="):
            continue
        name, version = str(dep).split("=", 1)
        tested = lock.get(_norm(PIP_NAME.get(name, name)))
        if tested is not None and tested != version:
            mismatched.append(f"{name}={version} (tests run {tested})")
    assert not mismatched, f"{env_file.name}: {mismatched}"


def test_runner_puts_the_checkout_first(tmp_path):
    """Even with src/ already on sys.path behind an installed `entangle` (as in Snakemake's script
    preamble, which appends the workflow's search paths after site-packages), scripts get this checkout's."""
    import subprocess

    decoy = tmp_path / "site" / "entangle"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("DECOY = True\n")
    code = (f"import sys; sys.path.insert(0, {str(decoy.parent)!r}); sys.path.append({str(SRC)!r}); "
            f"sys.path.append({str(REPO / 'scripts')!r}); import _runner, entangle; print(entangle.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert Path(out.stdout.strip()) == SRC / "entangle" / "__init__.py"
