"""Refresh the web UI's front-end libraries from the npm registry, at the versions pinned in
``src/cairn/ui/package.json`` (exact versions, checked against ``package-lock.json``'s integrity
hashes by ``npm ci``).

    python scripts/refresh_ui_vendor.py            # npm ci in a temp dir, copy the ES modules
    python scripts/refresh_ui_vendor.py --update   # re-resolve the lock file first (after a bump)

The copied files and their sha256 land in ``src/cairn/ui/static/vendor/`` and its
``MANIFEST.json``, which ship in the wheel, so ``pip install`` needs no JavaScript build step and
no network. ``tests/ui/test_vendor.py`` checks that the manifest, the files and package.json
agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

UI_DIR = Path(__file__).resolve().parent.parent / "src" / "cairn" / "ui"
VENDOR_DIR = UI_DIR / "static" / "vendor"

# (package, file inside the package, name under vendor/): browser-ready ES modules and CSS.
FILES = (
    ("preact", "dist/preact.module.js", "preact.module.js"),
    ("preact", "hooks/dist/hooks.module.js", "preact-hooks.module.js"),
    ("htm", "dist/htm.module.js", "htm.module.js"),
    ("uplot", "dist/uPlot.esm.js", "uPlot.esm.js"),
    ("uplot", "dist/uPlot.min.css", "uPlot.min.css"),
    ("marked", "lib/marked.esm.js", "marked.esm.js"),
    ("dompurify", "dist/purify.es.mjs", "purify.es.mjs"),
)
LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "license")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="re-resolve package-lock.json")
    args = parser.parse_args()
    if shutil.which("npm") is None:
        print("npm is needed to refresh the UI libraries", file=sys.stderr)
        return 1
    pins = json.loads((UI_DIR / "package.json").read_text())["dependencies"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(UI_DIR / "package.json", work)
        lock = UI_DIR / "package-lock.json"
        if lock.exists() and not args.update:
            shutil.copy(lock, work)
            cmd = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
        else:
            cmd = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"]
        subprocess.run(cmd, cwd=work, check=True)
        shutil.copy(work / "package-lock.json", lock)
        modules = work / "node_modules"
        if VENDOR_DIR.exists():
            shutil.rmtree(VENDOR_DIR)
        VENDOR_DIR.mkdir(parents=True)
        manifest: dict[str, dict] = {}
        for package, source, target in FILES:
            installed = json.loads((modules / package / "package.json").read_text())["version"]
            if installed != pins[package]:
                raise SystemExit(f"{package}: installed {installed}, pinned {pins[package]}")
            shutil.copy(modules / package / source, VENDOR_DIR / target)
            entry = manifest.setdefault(package, {"version": installed, "files": {}})
            entry["files"][target] = {"source": source, "sha256": sha256(VENDOR_DIR / target)}
        for package in manifest:
            for name in LICENSE_NAMES:
                if (modules / package / name).exists():
                    shutil.copy(modules / package / name, VENDOR_DIR / f"{package}.LICENSE")
                    break
        (VENDOR_DIR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"vendored {len(FILES)} files from {len(manifest)} packages into {VENDOR_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
