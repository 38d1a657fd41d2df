"""What a class's first views read from disk, made ready when a server starts.

Every result that takes seconds is computed once per checkpoint hash and code version and kept
as plain arrays (never pickles):

- the AE vs VAE page's studies, atlases and sample reports (:mod:`explorer.precompute`, read
  through :mod:`explorer.store`);
- the **run-time caches**: the Latent map's codes, maps, trustworthiness, overlap and attributes
  (:mod:`explorer.maps`) and each model's attribute directions (:mod:`explorer.attributes`), in
  the checkpoint cache (:func:`checkpoint_cache`); the digits' split, in the data cache
  (:data:`explorer.data.CACHE_DIR`);
- the ONNX graphs the browser runs (:mod:`explorer.onnx_export`), in ``static/models/``.

``python -m explorer.precompute`` ships the first two beside the bundled checkpoints
(``checkpoints/precomputed/``; the run-time caches' files in its ``seed/`` and ``data/``
folders). A server :func:`seed`s its caches from there when it starts (links or copies: a few
milliseconds), so a fresh clone's first views read files; then, once the first page has run,
one low-priority child process (:func:`start`, ``python -m explorer.warmup``) makes whatever is
still missing (a retrained checkpoint, a clone without ``precomputed/``), the ONNX graphs first.
With nothing missing it loads the checkpoints, reads the files and computes nothing.
``LATENT_EXPLORER_WARM=0`` turns it off (the tests that do not need it).

This module imports only the standard library at the top: a page's first run imports it, and
scikit-learn, openTSNE, umap and torch.onnx are imported by the child, never by a page.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ENV = "LATENT_EXPLORER_WARM"  # "0": no warm-up thread
CACHE_ENV = "LATENT_EXPLORER_CACHE"  # moves every run-time cache (explorer.data reads it too)
SHIPPED = "precomputed"  # beside the checkpoints (explorer.precompute.SHIPPED)
SEED, DATA = "seed", "data"  # its folders of the checkpoint cache's and data cache's files
QUIET_S = 0.5  # a step starts once no page has run for this long…
MAX_WAIT_S = 30.0  # …or after this long in any case (a busy class still gets its results)
# The warm-up's start waits longer: a first page's browser is still loading its components (and
# rerunning for them) for a few seconds after its first script run ends.
START_QUIET_S = 3.0


def checkpoint_cache(checkpoint_dir: Path) -> Path:
    """The run-time cache of the checkpoints in ``checkpoint_dir``: ``<it>/.cache``, or
    ``$LATENT_EXPLORER_CACHE/checkpoints`` when that variable names a folder (a bench's fresh
    start, a read-only install)."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) / "checkpoints" if root else Path(checkpoint_dir) / ".cache"


def enabled() -> bool:
    return os.environ.get(ENV, "1") not in ("0", "false", "off")


# ---- Seeding the run-time caches from the shipped files ----------------------------------------


def seed(checkpoint_dir: Path, cache_dir: Path, data_dir: Path) -> list[str]:
    """Link (or copy) every shipped run-time cache file that its cache lacks; their names.
    A file already there is kept: the caches are keyed by content, so it is the same."""
    shipped = Path(checkpoint_dir) / SHIPPED
    made = []
    for source, target in ((shipped / SEED, Path(cache_dir)), (shipped / DATA, Path(data_dir))):
        if not source.is_dir():
            continue
        for path in sorted(source.iterdir()):
            if path.suffix not in (".npy", ".npz") or (target / path.name).exists():
                continue
            with contextlib.suppress(OSError):  # an unwritable cache: the thread computes it
                _link_or_copy(path, target / path.name)
                made.append(path.name)
    return made


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the caches replace files whole, never edit them), else an atomic copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)


# ---- The steps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing the warm-up makes: its name, whether it is there already, and how to make it."""

    name: str
    done: Callable[[], bool]
    make: Callable[[], object]


MAP_NAMES = ("ae", "vae")  # the Latent map's models (explorer.ui.latent_map.NAMES)
SLIDER_KINDS = ("ae", "vae", "gan")  # models with attribute sliders


def steps(
    checkpoint_dir: Path,
    cache_dir: Path,
    load=None,
    export: bool = True,
    say: Callable[[str], None] = print,
) -> Iterator[Step]:
    """Every step, in the order a class needs them: the browser's ONNX graphs, the AE vs VAE
    defaults, attribute directions, then the maps (held-out digits first, then all digits).
    ``load(name)`` gives a bundled checkpoint (the app passes its cached loader). A group that
    cannot even list its steps (a missing checkpoint) is reported and the next one goes on."""
    from explorer import checkpoints

    folder = Path(checkpoint_dir)
    names = list(checkpoints.discover(folder))
    load = load or (lambda name: checkpoints.load(folder / f"{name}.safetensors"))
    groups = {
        "ONNX exports": lambda: _export_steps(names, load) if export else iter(()),
        "AE vs VAE defaults": lambda: _study_steps(folder, cache_dir),
        "attribute directions": lambda: _attribute_steps(names, load, cache_dir),
        "maps": lambda: _map_steps(folder, cache_dir, names, load),
    }
    for title, group in groups.items():
        try:
            yield from group()
        except Exception as err:  # e.g. no d = 2 pair here: its page says so
            say(f"warm-up: the {title} could not be listed ({type(err).__name__}: {err})")


def _export_steps(names: list[str], load) -> Iterator[Step]:
    from explorer import onnx_export

    folder = onnx_export.MODELS_DIR
    for name in names:
        ckpt = load(name)
        paths = [
            folder / onnx_export.file_name(ckpt.name, ckpt.sha256, graph)
            for graph in onnx_export.graphs(ckpt)
        ]
        yield Step(
            f"onnx {name}",
            lambda p=paths: all(path.is_file() for path in p),
            lambda c=ckpt: onnx_export.export(c, folder),
        )


def _study_steps(folder: Path, cache_dir: Path) -> Iterator[Step]:
    from explorer import precompute, store

    results = store.Store(folder / SHIPPED, Path(cache_dir) / "results")
    for name, make in precompute.defaults(folder, cache_dir):
        yield Step(
            f"study {name}",
            lambda n=name: results.get(n) is not None,
            lambda n=name, m=make: results.get_or_make(n, m),
        )


def _attribute_steps(names: list[str], load, cache_dir: Path) -> Iterator[Step]:
    from explorer import attributes

    for name in names:
        if not name.startswith(SLIDER_KINDS):
            continue
        ckpt = load(name)
        yield Step(
            f"attributes {name}",
            lambda c=ckpt: attributes.cache_path(c.sha256, cache_dir).is_file(),
            lambda c=ckpt: attributes.load_or_fit(c, cache_dir),
        )


def _map_steps(folder: Path, cache_dir: Path, names: list[str], load) -> Iterator[Step]:
    from explorer import maps, projection

    if not all(name in names for name in MAP_NAMES):
        return
    for which in maps.POINT_SETS:
        for method in projection.METHODS:
            yield Step(
                f"map {which} {method}",
                lambda w=which, m=method: _maps_done(load, cache_dir, w, m),
                lambda w=which, m=method: maps.warm(
                    folder, cache_dir, (w,), (m,), MAP_NAMES, say=lambda *_: None
                ),
            )


def _maps_done(load, cache_dir: Path, which: str, method: str) -> bool:
    """Whether both models' maps of ``which`` digits by ``method`` are on disk (their codes,
    read from disk too, name them)."""
    from explorer import data, maps, projection

    ckpts = [load(n) for n in MAP_NAMES]
    pts = maps.points(data.Split.from_dict(ckpts[0].meta.get("split", {})), which)
    params = projection.MapParams(
        method, projection.DEFAULT_PERPLEXITY if method == "tsne" else 0.0
    )
    for ckpt in ckpts:
        path = maps.codes_path(ckpt.sha256, pts, cache_dir)
        if not path.is_file():
            return False
        codes = maps.codes(ckpt.model, ckpt.sha256, pts, cache_dir)
        if projection.cached(codes, params, ckpt.sha256, cache_dir) is None:
            return False
    return True


# ---- The thread --------------------------------------------------------------------------------


class Quiet:
    """Waits until ``busy()`` has been False for ``quiet_s`` (or ``most_s`` have passed), and
    remembers it: a later wait returns at once while ``busy()`` stays False, so a thread that
    waits before every small step pays the quiet period once, not per step."""

    def __init__(
        self, busy: Callable[[], bool], quiet_s: float = QUIET_S, most_s: float = MAX_WAIT_S
    ) -> None:
        self.busy, self.quiet_s, self.most_s = busy, quiet_s, most_s
        self.calm_since: float | None = None

    def wait(self) -> None:
        deadline = time.monotonic() + self.most_s
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.busy():
                self.calm_since = None
            elif self.calm_since is None:
                self.calm_since = now
            elif now - self.calm_since >= self.quiet_s:
                return
            time.sleep(0.05)


def wait_quiet(busy: Callable[[], bool], quiet_s: float = QUIET_S, most_s: float = MAX_WAIT_S):
    """Return once ``busy()`` has been False for ``quiet_s``, or after ``most_s``."""
    Quiet(busy, quiet_s, most_s).wait()


def run(
    checkpoint_dir: Path,
    cache_dir: Path,
    busy: Callable[[], bool] = lambda: False,
    load=None,
    export: bool = True,
    say: Callable[[str], None] = print,
    stop: Callable[[], bool] = lambda: False,
) -> list[str]:
    """Make every missing step (see :func:`steps`), each once no page is running, until
    ``stop()``; the names of those made. A step that fails is reported and skipped: its page
    computes it on demand.

    Listing a step (which may load a checkpoint) and checking it (which may read the digits and
    encode them) cost seconds too, so each waits for quiet as well: the warm-up never competes
    with a page for the interpreter (one thread runs Python at a time)."""
    made, quiet = [], Quiet(busy)
    try:
        listed = steps(checkpoint_dir, cache_dir, load, export, say)
        while not stop():
            quiet.wait()
            step = next(listed, None)
            if step is None:
                break
            try:
                if step.done():
                    continue
                quiet.wait()
                step.make()
                made.append(step.name)
            except Exception as err:  # one model that cannot load or export: the rest go on
                say(f"warm-up: {step.name} failed ({type(err).__name__}: {err})")
    except Exception as err:  # no checkpoints, or an unreadable folder: pages say why
        say(f"warm-up stopped ({type(err).__name__}: {err})")
    return made


def start(
    checkpoint_dir: Path,
    cache_dir: Path,
    busy: Callable[[], bool] = lambda: False,
    export: bool = True,
) -> threading.Thread | None:
    """Once no page is running (the first page of a fresh server goes first), :func:`run` in a
    child process at low CPU priority (``python -m explorer.warmup``), watched by one daemon
    thread that this returns; None when ``LATENT_EXPLORER_WARM=0``. Without ``export``, no
    ONNX graphs.

    A process, not a thread of the server: the warm-up is seconds of Python (ONNX exports, maps)
    and a thread of the server shared its interpreter lock with the pages, slowing a fresh
    server's first views by about as much as it ran beside them. The child writes only files
    the pages read (caches keyed by content, written atomically); it stops when the server does.
    """
    if not enabled():
        return None

    def work() -> None:
        wait_quiet(busy, START_QUIET_S)
        command = [sys.executable, "-m", "explorer.warmup", str(checkpoint_dir), str(cache_dir)]
        command += ["--parent", str(os.getpid())] + ([] if export else ["--no-export"])
        with contextlib.suppress(OSError):  # no child: the pages compute on demand
            subprocess.run(command, cwd=Path(__file__).resolve().parents[1], check=False)

    thread = threading.Thread(target=work, name="warm-up", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    """The child process of :func:`start`: lower its priority, then :func:`run` (stopping
    between steps once its server, ``--parent``, has gone)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m explorer.warmup", description=main.__doc__)
    parser.add_argument("checkpoint_dir", type=Path)
    parser.add_argument("cache_dir", type=Path)
    parser.add_argument("--parent", type=int, default=None, help="stop once this process ends")
    parser.add_argument("--no-export", action="store_true", help="no ONNX graphs")
    args = parser.parse_args(argv)
    with contextlib.suppress(OSError):
        os.nice(10)  # the pages (and the class's browsers) come first
    orphaned = (lambda: os.getppid() != args.parent) if args.parent else (lambda: False)
    made = run(args.checkpoint_dir, args.cache_dir, export=not args.no_export, stop=orphaned)
    print(f"warm-up: made {len(made)} result(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
