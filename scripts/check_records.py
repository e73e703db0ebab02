"""Quick per-file schema check for KB records (the full check is `souverain kb validate`).

Usage: python scripts/check_records.py [FILE ...]   (default: every record)
"""
import pathlib
import sys

import yaml  # noqa: F401
from pydantic import ValidationError

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))
from souverain.kb import yamlio  # noqa: E402
from souverain.kb.schema import KINDS  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parents[1] / "src/souverain/kb/data"
files = [pathlib.Path(f) for f in sys.argv[1:]] or sorted(DATA.glob("*/*.yaml"))
bad = 0
for path in files:
    kind = path.resolve().parent.name
    if kind not in KINDS:
        continue
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"))
        KINDS[kind].model_validate(data)
        if data.get("id") != path.stem:
            raise ValueError(f"id {data.get('id')!r} differs from file name {path.stem!r}")
    except (ValidationError, ValueError, yaml.YAMLError) as exc:
        bad += 1
        print(f"{path}: {exc}")
print(f"{len(files) - bad} ok, {bad} bad")
sys.exit(1 if bad else 0)
