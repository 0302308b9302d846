"""`python -m tools.processgen [--check] [ROOT]`: write processes/<key>.bpmn for each variant and forms/*.schema.json.

The generated files are the source of truth once committed (designers may then edit them in any modeler);
`--check` exits 1 if a file differs from what the generator would write now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.processgen import forms
from tools.processgen.approval import build
from tools.processgen.layout import layout
from tools.processgen.model import check
from tools.processgen.variants import VARIANTS
from tools.processgen.writer import to_xml

ROOT = Path(__file__).resolve().parents[2]


def generate() -> dict[str, bytes]:
    """Relative path -> bytes for every generated file."""
    out = {}
    for make in VARIANTS:
        process = build(make())
        check(process)
        out[f"processes/{process.id}.bpmn"] = to_xml(process, layout(process), exporter="tools/processgen")
    for key, form in forms.FORMS.items():
        out[f"forms/{key}.schema.json"] = forms.render(form)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=ROOT, help="where processes/ and forms/ are")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name, data in generate().items():
        path = args.root / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path} ({len(data)} bytes)")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
