"""Write the generated default election definition to a file, to edit; or check a file.

    .venv/bin/python scripts/election_definition.py --write PATH [--seed N]
    .venv/bin/python scripts/election_definition.py --check PATH

Point ELECTION_DEFINITION_PATH at the file (or the election_definition asset's `path`
config) and registration_job materializes it. --check prints the file's problems, one a line,
and exits 1 if it has any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from election.default_election import default_election  # noqa: E402
from election.definition import DefinitionError, contest_counts, dump_definition  # noqa: E402
from election_io.definitions import read_definition_file  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="PATH", help="write the default definition here")
    action.add_argument("--check", metavar="PATH", help="check a definition file")
    parser.add_argument("--seed", type=int, default=42, help="the default's seed (42)")
    args = parser.parse_args(argv)
    if args.write:
        definition = default_election(args.seed)
        Path(args.write).write_text(dump_definition(definition), encoding="utf-8")
        print(f"wrote {len(definition.contests)} contests to {args.write}")
        return 0
    try:
        definition = read_definition_file(args.check)
    except DefinitionError as exc:
        print(exc, file=sys.stderr)
        return 1
    counts = ", ".join(f"{k} {v}" for k, v in contest_counts(definition).items() if v)
    print(f"{args.check}: {len(definition.contests)} contests ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
