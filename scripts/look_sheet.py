"""Write the review contact sheet (identities x views) of the current avatar appearance.

    python scripts/look_sheet.py -o sheet.png [--tile 256] [--no-light | --studio] [--seed 7] [--specs specs.json]

Rows are :func:`random_people.avatar.sheets.review_identities` (all skin-tone groups, child to
elder, both sexes); columns front, side, back, face close-up and the person at ~70 px.
"""

from __future__ import annotations

import argparse
import json
import logging

from random_people.avatar.identity import IdentitySpec
from random_people.avatar.pipeline import build_identity_avatar
from random_people.avatar.sheets import EXTRA_VIEWS, VIEWS, SheetOptions, contact_sheet, review_identities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rows", type=int, default=0, help="only the first N identities")
    parser.add_argument("--views", default=",".join(VIEWS), help=f"comma-separated, from {', '.join(VIEWS + EXTRA_VIEWS)}")
    parser.add_argument("--only", default="", help="comma-separated row numbers (0-based) to draw")
    parser.add_argument("--specs", default="", help="a JSON list of identity specs to draw instead of the review set")
    parser.add_argument("--no-light", action="store_true", help="plain colours (no preview light)")
    parser.add_argument("--studio", action="store_true",
                        help="the product's studio lighting (highlights, occlusion) instead of the preview light")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.specs:
        with open(args.specs, encoding="utf-8") as handle:
            specs = [IdentitySpec.from_dict(data) for data in json.load(handle)]
    else:
        specs = review_identities(args.seed)
    if args.rows:
        specs = specs[: args.rows]
    if args.only:
        specs = [specs[int(i)] for i in args.only.split(",")]
    avatars = [build_identity_avatar(spec) for spec in specs]
    contact_sheet(avatars, specs, args.output, SheetOptions(tile=args.tile, views=tuple(args.views.split(",")),
                                                          preview_light=not args.no_light, studio_light=args.studio))


if __name__ == "__main__":
    main()
