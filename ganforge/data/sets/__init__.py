"""Every data set, one module per data set or family of data sets, behind `base.DataSet`.

    toys.py         ring8, grid25, mog1d, gauss1d, spiral; points (a CSV of one's own)
    images.py       mnist5k, digits, faces; folder and mnist (data.path)
    stacked.py      stacked (Stacked MNIST, 1,000 modes)
    captioned.py    captioned-digits (text-to-image)
    translation.py  paired: edges, denoise, inpaint, superres, colorize, folder;
                    unpaired: strokes, folder
    tokens.py       oracle, names, text
    text_styles.py  text-styles (sentences of two styles, e.g. negative and positive reviews)

A new data set is one module with a `DataSet` subclass and a `data_sets()` that returns its
instances, plus its line in MODULES below (and a preset that uses it); user code can also
`register_data_set(MyData())` before it trains.
"""

from __future__ import annotations

from ganforge.data.sets import captioned, images, stacked, text_styles, tokens, toys, translation
from ganforge.data.sets.base import KINDS, Data, DataSet

MODULES = (toys, images, stacked, captioned, translation, tokens, text_styles)

#: kind -> data.name -> data set (one data.name may mean a set of each kind: folder)
DATA_SETS: dict[str, dict[str, DataSet]] = {kind: {} for kind in KINDS}


def register_data_set(data_set: DataSet) -> DataSet:
    """Make `data_set` what data.name=data_set.name means for families of its kind."""
    if data_set.kind not in DATA_SETS:
        raise ValueError(f"{type(data_set).__name__}.kind must be one of {', '.join(KINDS)}, got "
                         f"{data_set.kind!r}")
    if data_set.name in DATA_SETS[data_set.kind]:
        raise ValueError(f"data.name {data_set.name!r} ({data_set.kind}) is registered twice")
    DATA_SETS[data_set.kind][data_set.name] = data_set
    return data_set


for _module in MODULES:
    for _data_set in _module.data_sets():
        register_data_set(_data_set)


def find_data_set(name: str, kind: str, family: str = "") -> DataSet:
    """The data set called `name` for a family that trains on `kind`; an unknown name is
    refused with the names that this kind of family accepts."""
    if kind not in DATA_SETS:
        raise ValueError(f"unknown data kind {kind!r}; valid: {', '.join(KINDS)}")
    found = DATA_SETS[kind].get(name)
    if found is None:
        who = f"train.family={family}" if family else f"a family of {kind}"
        valid = ", ".join(sorted(DATA_SETS[kind]))
        raise ValueError(f"unknown data.name {name!r} for {who} (which trains on {kind}); "
                         f"valid: {valid}")
    return found


__all__ = ["DATA_SETS", "Data", "DataSet", "find_data_set", "register_data_set"]
