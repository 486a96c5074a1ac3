"""Real PC/SC: Debian's pcscd + vsmartcard-vpcd in a private network and mount namespace, our card served by
``sscard card serve``, driven by pyscard (our Terminal + PSAM), opensc-tool and scriptor. Needs root, pcscd,
vpcd, opensc, pcsc-tools and pyscard: skipped when missing, failed when CI=true."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sscard.chip import load, personalise, save
from sscard.chip.samples import sample_holder
from sscard.kms import KeyManager, KeyStore

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER = "Virtual PCD 00 00"
SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF00"
HERE = Path(__file__).parent


def _missing() -> list[str]:
    missing = [t for t in ("pcscd", "unshare", "ip", "mount", "opensc-tool", "scriptor") if shutil.which(t) is None]
    if not VPCD_DRIVER.exists():
        missing.append("vsmartcard-vpcd")
    if importlib.util.find_spec("smartcard") is None:
        missing.append("pyscard")
    if os.geteuid() != 0:
        missing.append("root (for unshare --net --mount)")
    return missing


@pytest.fixture(scope="module", autouse=True)
def _require_pcsc_stack() -> None:
    missing = _missing()
    if missing:
        message = f"PC/SC stack incomplete ({', '.join(missing)}); run: bash .ci/install-pcsc.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


INNER = """set -e
ip link set lo up
mkdir -p /run/pcscd
mount --bind "$NSDIR/run" /run/pcscd
pcscd --foreground --info > "$NSDIR/pcscd.log" 2>&1 &
PCSCD=$!
"$PYTHON" -c "from sscard.cli.card import card_app; card_app()" serve "$IMAGE" --vpcd 127.0.0.1:35963 \\
  > "$NSDIR/card.log" 2>&1 &
CARD=$!
# Stay the parent of both so they are reaped (no zombies) when the fixture ends the process group.
trap 'kill $PCSCD $CARD 2>/dev/null; wait' TERM INT
wait
"""


@dataclass
class PcscCard:
    image: Path
    keystore: Path
    kek_hex: str
    atr: bytes
    env: dict[str, str]

    def run(self, *argv: str, stdin: str | None = None) -> str:
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30, input=stdin)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


@pytest.fixture(params=[2, 3], ids=["gen2-3des", "gen3-sm4"])
def pcsc_card(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PcscCard]:
    kek = os.urandom(32)
    keystore = tmp_path / "keystore.json"
    km = KeyManager(kek, KeyStore(keystore))
    km.init_ministry()
    km.provision_city("440300")
    holder = sample_holder(int(request.param), name="张三")
    card = personalise(holder, km.card_keys(holder))
    image = tmp_path / "card.json"
    save(card, image)
    nsdir = tmp_path / "ns"
    (nsdir / "run").mkdir(parents=True)
    (nsdir / "inner.sh").write_text(INNER)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env_ns = {
        **os.environ,
        "NSDIR": str(nsdir),
        "IMAGE": str(image),
        "PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH", "")])),
    }
    proc = subprocess.Popen(["unshare", "--net", "--mount", "sh", str(nsdir / "inner.sh")], env=env_ns,
                            start_new_session=True)  # fmt: skip
    client_env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(nsdir / "run" / "pcscd.comm"),
                  "PYTHONPATH": env_ns["PYTHONPATH"]}  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        ready = False
        while time.monotonic() < deadline and proc.poll() is None:
            log = nsdir / "pcscd.log"
            if log.exists() and "Card inserted" in log.read_text(errors="replace"):
                ready = True
                break
            time.sleep(0.1)
        logs = {p.name: p.read_text(errors="replace") for p in nsdir.glob("*.log")}
        assert ready, f"pcscd/vpcd/card did not come up: {logs}"
        yield PcscCard(image, keystore, kek.hex(), card.atr, client_env)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the card server and pcscd share this new session's group
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        _stop_leftover_pcscd(nsdir / "run" / "pcscd.pid")


def _stop_leftover_pcscd(pid_file: Path) -> None:
    """pcscd normally dies with the process group; if ours is somehow still alive, stop it by its pid."""
    try:
        pid = int(pid_file.read_text().strip("\x00\n "))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return  # no pid file, or the process is already gone
    if b"pcscd" in cmdline:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return


def test_opensc_tool_lists_the_reader_and_reads_the_atr(pcsc_card: PcscCard) -> None:
    listing = pcsc_card.run("opensc-tool", "-l")
    assert READER in listing and "Yes" in listing.split(READER)[0].splitlines()[-1]
    atr = pcsc_card.run("opensc-tool", "-r", READER, "-a").strip()
    assert bytes.fromhex(atr.replace(":", "")) == pcsc_card.atr


def test_opensc_tool_selects_ssse_and_reads_ef05_ef06_and_verifies_the_pin(pcsc_card: PcscCard) -> None:
    generation = load(pcsc_card.image).generation
    text = pcsc_card.run(
        "opensc-tool", "-r", READER, "-s", SELECT_SSSE, "-s", "00B2012C00", "-s", "00B2073400",
        "-s", "0020000003123456", "-s", "00B0880004",
    )  # fmt: skip
    statuses = [line for line in text.splitlines() if line.startswith("Received")]
    assert len(statuses) == 5 and "SW1=0x90, SW2=0x00" in statuses[0]
    if generation == 2:  # basic information is readable without authentication
        assert all("SW1=0x90, SW2=0x00" in s for s in statuses)
        assert "44 03 00 D1 56 00 00 05" in text
    else:  # 3rd generation: 6982 until RKSSSE external authentication
        assert "SW1=0x69, SW2=0x82" in statuses[1] and "SW1=0x69, SW2=0x82" in statuses[2]
        assert "SW1=0x90, SW2=0x00" in statuses[3] and "SW1=0x90, SW2=0x00" in statuses[4]


def test_scriptor_runs_a_script_against_the_card(pcsc_card: PcscCard, tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text(f"{SELECT_SSSE}\n00B2090000\n0020000003999999\n")
    text = pcsc_card.run("scriptor", "-r", READER, str(script))
    assert "6F 19 84 0F 73 78 31 2E" in text
    assert "63 C2" in text  # wrong PIN: two tries left
    if load(pcsc_card.image).generation == 2:
        assert "09 1E D5 C5 C8 FD" in text  # 张三 in GB18030


def test_pyscard_terminal_reads_authenticates_verifies_and_writes_with_mac(pcsc_card: PcscCard) -> None:
    generation = load(pcsc_card.image).generation
    out = pcsc_card.run(sys.executable, str(HERE / "pcsc_client.py"), str(pcsc_card.keystore), pcsc_card.kek_hex,
                        "440300")  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert READER in result["readers"]
    assert bytes.fromhex(result["atr"]) == pcsc_card.atr
    assert result["algorithm"] == ("sm4" if generation == 3 else "3des")
    assert result["name"] == "张三" and result["card_no"] == "A00000001"
    assert result["genuine"] is True
    assert result["wrong_pin_tries_left"] == 2
    assert result["ef08"] == "PCSC"
    assert result["id_after_update"] == "11010519491231002X"
    # The server saved the image after every APDU: the MAC'd update is on disk.
    records = load(pcsc_card.image).mf.children[0xDDF1].children[0xEF06].records  # type: ignore[union-attr]
    assert records[0] == b"\x08\x12" + b"11010519491231002X"
