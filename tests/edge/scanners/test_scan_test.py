"""`ioe edge scan-test`: a station's scans shown raw and decoded, and nothing queued."""

import json
import subprocess
import sys
from pathlib import Path

from edge.config import EdgeConfig, StationConfig, write_config
from edge.scanners.simulated import SimulatedScannerConfig
from protocol import central_public_key
from protocol.gs1 import gs1_check_digit

SSCC = "00614141" + "123456789"
SSCC += str(gs1_check_digit(SSCC))


def edge_toml(tmp_path: Path, scans: str) -> Path:
    source = tmp_path / "scans.txt"
    source.write_bytes(scans.encode())
    config = EdgeConfig(
        site="plant-1",
        edge_id="edge-1",
        secret="scan-test-secret-0123456789",
        central_key=central_public_key(b"c" * 32).hex(),
        data_dir=str(tmp_path / "data"),
        stations=[
            StationConfig(
                name="dock-1",
                operator="op-1",
                scanner=SimulatedScannerConfig(kind="simulated", path=str(source)),
            ),
            StationConfig(name="line-1", operator="op-2"),
        ],
    )
    path = tmp_path / "edge.toml"
    write_config(config, path)
    return path


def ioe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ioe", *args], capture_output=True, text=True, timeout=60
    )


def test_scans_are_shown_raw_and_decoded_and_nothing_is_queued(tmp_path: Path) -> None:
    path = edge_toml(tmp_path, f"]C100{SSCC}\r\nLOC:A-01\r\n\x01junk\r\n")
    run = ioe("edge", "scan-test", "--config", str(path), "--station", "dock-1", "--json")
    assert run.returncode == 0, run.stderr
    items = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    scans = [i for i in items if i["event"] == "scan"]
    assert [s["result"] for s in scans] == ["decoded", "decoded", "refused"]
    assert scans[0]["scan"]["kind"] == "lp" and scans[0]["scan"]["value"] == SSCC
    assert scans[0]["scan"]["rule"] == "gs1-sscc" and scans[0]["symbology"] == "]C1"
    assert scans[0]["raw_hex"].startswith("5d 43 31")  # "]C1" as the scanner sent it
    assert scans[1]["scan"]["kind"] == "location" and scans[1]["scan"]["value"] == "A-01"
    assert scans[2]["error"]["code"] == "SCAN_INVALID"
    assert "control characters" in scans[2]["error"]["message"]
    assert {step["outcome"] for step in scans[2]["rules"]} >= {"no match"}
    states = [i["status"] for i in items if i["event"] == "scanner"]
    assert states[0] == "connected"
    assert not (tmp_path / "data").exists()  # no queue was opened, let alone written


def test_human_output_names_the_rule(tmp_path: Path) -> None:
    path = edge_toml(tmp_path, "WO:WO-1001\n")
    run = ioe("edge", "scan-test", "-c", str(path), "-s", "dock-1", "--count", "1")
    assert run.returncode == 0, run.stderr
    assert "decoded  work_order 'WO-1001' (rule work-order)" in run.stdout


def test_a_refusal_shows_every_rule_and_why(tmp_path: Path) -> None:
    # A lot without its group separator runs into the expiry: refused with the reason.
    gtin = "0950600013435"
    gtin += str(gs1_check_digit(gtin))
    path = edge_toml(tmp_path, f"]C101{gtin}10ABC12317261231\n")
    run = ioe("edge", "scan-test", "-c", str(path), "-s", "dock-1", "--count", "1")
    assert run.returncode == 0, run.stderr
    assert "aim      ]C1 (" in run.stdout
    assert "refused  GS1_INVALID" in run.stdout and "(17)" in run.stdout
    rule_line = next(line for line in run.stdout.splitlines() if "rule gs1-sscc" in line)
    assert "refused: lot seems to run into (17)" in rule_line


def test_a_station_without_a_scanner_is_refused_with_the_ones_that_have_one(
    tmp_path: Path,
) -> None:
    path = edge_toml(tmp_path, "")
    run = ioe("edge", "scan-test", "-c", str(path), "-s", "line-1")
    assert run.returncode == 2
    assert "no scanner at station 'line-1'" in run.stderr and "dock-1" in run.stderr
