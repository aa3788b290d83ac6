"""The front-end libraries shipped in the package are the pinned registry releases, unmodified."""

from __future__ import annotations

import hashlib
import json

from cairn.ui import STATIC_DIR

UI_DIR = STATIC_DIR.parent
VENDOR = STATIC_DIR / "vendor"


def test_every_vendored_file_matches_the_manifest_and_the_pins() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    pins = json.loads((UI_DIR / "package.json").read_text())["dependencies"]
    lock = json.loads((UI_DIR / "package-lock.json").read_text())["packages"]
    assert set(manifest) == set(pins)
    listed = {"MANIFEST.json"}
    for package, entry in manifest.items():
        assert entry["version"] == pins[package] == lock[f"node_modules/{package}"]["version"]
        assert lock[f"node_modules/{package}"]["integrity"].startswith("sha512-")
        for name, file in entry["files"].items():
            digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
            assert digest == file["sha256"], f"{name} differs from {package}@{entry['version']}"
            listed.add(name)
        assert (VENDOR / f"{package}.LICENSE").is_file()
        listed.add(f"{package}.LICENSE")
    assert {p.name for p in VENDOR.iterdir()} == listed, "files in vendor/ not from the registry"


def test_the_page_maps_every_bare_import_to_a_vendored_file() -> None:
    page = (STATIC_DIR / "index.html").read_text()
    start = page.index('<script type="importmap">') + len('<script type="importmap">')
    imports = json.loads(page[start : page.index("</script>", start)])["imports"]
    for target in imports.values():
        assert (STATIC_DIR / target.removeprefix("./static/")).is_file(), target
