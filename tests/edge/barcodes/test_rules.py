"""Barcode rules in edge.toml: read through load_config, validated, written back, obeyed."""

import tomllib
from pathlib import Path

import pytest

from edge.barcodes.decode import BarcodeDecoder
from edge.barcodes.rules import DEFAULT_RULES, BarcodeRule
from edge.config import EdgeConfig, load_config, render_config
from edge.errors import ConfigError, ScanError
from tests.edge.barcodes.labels import GTIN, SSCC

HEAD = """
site = "plant-1"
edge_id = "edge-07"
secret = "0123456789abcdef0123456789abcdef"
"""

STATION = """
[[stations]]
name = "dock-1"
operator = "op-7"
location = "RECV-1"
locale = "de"
"""

RULES = r"""
gs_substitute = "|"

[[barcode_rules]]
name = "pallet"
kind = "lp"
gs1 = ["00"]

[[barcode_rules]]
name = "supplier-label"
kind = "receipt"
gs1 = ["01|02", "10"]

[[barcode_rules]]
name = "bin"
kind = "location"
pattern = '^B-(?P<value>\d{2}-\d{2})$'

[[barcode_rules]]
name = "keyed-qty"
kind = "qty"
pattern = '^[0-9][0-9.,]*$'
only_when_expected = true
"""


def load(tmp_path: Path, text: str) -> EdgeConfig:
    """The config ``text`` describes, read from a real file."""
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return load_config(path, env={})


def test_rules_substitute_and_locale_from_toml(tmp_path: Path) -> None:
    # Top-level keys first: TOML puts everything after a table header into that table.
    config = load(tmp_path, HEAD + RULES + STATION)
    assert [rule.name for rule in config.barcode_rules or ()] == [
        "pallet",
        "supplier-label",
        "bin",
        "keyed-qty",
    ]
    assert config.gs_substitute == "|"
    station = config.station("dock-1")
    assert station is not None and station.locale == "de"
    decode = config.barcode_decoder()
    assert decode("B-04-12").value == "04-12"
    assert decode("1.720", expected=["qty"], locale=station.locale).value == "1720"
    receipt = decode(f"]C101{GTIN}10L1|17261231")
    assert (receipt.kind, receipt.rule, receipt.fields["expiry"]) == (
        "receipt",
        "supplier-label",
        "2026-12-31",
    )


def test_an_explicit_list_replaces_the_defaults_entirely(tmp_path: Path) -> None:
    decode = load(tmp_path, HEAD + RULES).barcode_decoder()
    with pytest.raises(ScanError) as err:
        decode("LOC:A-01")  # a default rule, not in this list
    assert err.value.code == "NO_RULE_MATCHED"
    with pytest.raises(ScanError):
        decode(f"01{GTIN}")  # supplier-label needs a lot; no other rule takes a GTIN


def test_no_rules_in_toml_means_the_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, HEAD + STATION)
    assert config.barcode_rules is None and config.gs_substitute is None
    assert config.barcode_decoder().rules == DEFAULT_RULES
    assert config.barcode_decoder()("LOC:A-01").kind == "location"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            '[[barcode_rules]]\nname = "x"\nkind = "lp"\npattern = "^(unclosed"\n',
            "barcode_rules[0]: rule 'x': pattern is not a regex",
        ),
        (
            '[[barcode_rules]]\nname = "x"\nkind = "pallet"\npattern = "^P"\n',
            "barcode_rules[0].kind: unknown kind 'pallet'; kinds: lp, receipt",
        ),
        (
            '[[barcode_rules]]\nname = "x"\nkind = "lp"\npattern = "^P"\n'
            '[[barcode_rules]]\nname = "x"\nkind = "lp"\npattern = "^Q"\n',
            "barcode_rules: barcode rule names must be unique; repeated: x",
        ),
        (
            '[[barcode_rules]]\nname = "x"\nkind = "lp"\n',
            "rule 'x' needs exactly one of pattern or gs1",
        ),
        (
            '[[barcode_rules]]\nname = "x"\nkind = "lp"\npattern = "^P"\ngs1 = ["00"]\n',
            "rule 'x' needs exactly one of pattern or gs1",
        ),
        (
            '[[barcode_rules]]\nname = "x"\nkind = "lp"\ngs1 = ["00", "01|23"]\n',
            "gs1 entry '01|23': '23' is not a GS1 application identifier",
        ),
        (
            '[[barcode_rules]]\nname = "x"\nkind = "lp"\ngs1 = []\n',
            "gs1 names at least one application identifier",
        ),
        ("barcode_rules = []\n", "barcode_rules is empty: remove it to use the default rules"),
        ('gs_substitute = "ab"\n', "gs_substitute is one character"),
        ('gs_substitute = "-"\n', "gs_substitute '-' can appear inside GS1 data"),
        ('gs_substitute = " "\n', "can appear inside GS1 data"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(tmp_path: Path, rules: str, message: str) -> None:
    top = rules if not rules.startswith("[[") else ""
    tables = rules if rules.startswith("[[") else ""
    with pytest.raises(ConfigError) as err:
        load(tmp_path, HEAD + top + tables)
    assert message in str(err.value)


@pytest.mark.parametrize("locale", ["uk", "klingon", "xx"])
def test_a_station_locale_the_edge_cannot_read_is_refused(tmp_path: Path, locale: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, HEAD + STATION.replace('"de"', f'"{locale}"'))
    assert "stations[0].locale" in str(err.value)


def test_rules_substitute_and_locale_round_trip(tmp_path: Path) -> None:
    config = load(tmp_path, HEAD + RULES + STATION)
    text = render_config(config)
    assert "[[barcode_rules]]" in text and 'gs1 = ["01|02", "10"]' in text
    assert load(tmp_path, text) == config
    # The backslashes of a pattern survive the trip.
    assert tomllib.loads(text)["barcode_rules"][2]["pattern"] == r"^B-(?P<value>\d{2}-\d{2})$"


def test_defaults_are_not_written_out(tmp_path: Path) -> None:
    config = load(tmp_path, HEAD + STATION)
    text = render_config(config)
    assert "barcode_rules" not in text and "gs_substitute" not in text
    assert load(tmp_path, text) == config


def test_rule_order_decides() -> None:
    numeric_lp = BarcodeRule(name="numeric-lp", kind="lp", pattern=r"^(?P<value>01\d{14})$")
    text = "0100000000000017"  # an internal number that opens like (01) + a GTIN
    assert BarcodeDecoder()(text).value == "00000000000017"  # GS1 first: a receipt label
    decode = BarcodeDecoder((numeric_lp, *DEFAULT_RULES))
    assert (decode(text).rule, decode(text).value) == ("numeric-lp", text)


def test_a_gs1_rule_value_is_its_first_ai() -> None:
    lot_rule = BarcodeRule(name="lot-label", kind="lot", gs1=["10"])
    qty_rule = BarcodeRule(name="weight-label", kind="qty", gs1=["3103|3203"])
    decode = BarcodeDecoder((qty_rule, lot_rule))
    assert decode("]C110LOT-7").value == "LOT-7"
    assert decode(f"]C101{GTIN}3103012500").value == "12.5"
    assert decode(f"]d200{SSCC}10LOT-8").rule == "lot-label"
