"""deploy/ says what the tested local cluster runs: the same failure-detector clock and synchronous settings in
both sites' patroni.yml, three etcd members, the application's URL options; and every file there parses."""

from __future__ import annotations

import configparser
from pathlib import Path

import yaml

from sscard.dr.local import CLIENT_OPTIONS, LocalCluster

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_both_sites_run_the_tested_dcs_settings(tmp_path: Path) -> None:
    tested = LocalCluster(tmp_path)._patroni_config(LocalCluster(tmp_path).nodes[0])["bootstrap"]["dcs"]
    for site in ("patroni-site-a.yml", "patroni-site-b.yml"):
        config = yaml.safe_load((DEPLOY / site).read_text())
        dcs = config["bootstrap"]["dcs"]
        for key in ("ttl", "loop_wait", "retry_timeout", "synchronous_mode", "synchronous_mode_strict",
                    "synchronous_node_count", "maximum_lag_on_failover"):
            assert dcs[key] == tested[key], (site, key)
        assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]  # Patroni's own rule
        assert dcs["postgresql"]["use_pg_rewind"] and "archive-push" in dcs["postgresql"]["parameters"][
            "archive_command"]
        assert len(config["etcd"]["hosts"].split(",")) == 3
        assert "password" not in str(config["postgresql"]["authentication"])


def test_etcd_pgbackrest_and_the_application_url() -> None:
    etcd = yaml.safe_load((DEPLOY / "etcd.conf.yml").read_text())
    assert etcd["enable-v2"] is True and len(etcd["initial-cluster"].split(",")) == 3
    backrest = configparser.ConfigParser()
    backrest.read(DEPLOY / "pgbackrest.conf")
    assert backrest["sscard"]["pg1-path"] and backrest["global"]["repo1-path"]
    unit = (DEPLOY / "systemd" / "sscard.service").read_text()
    assert CLIENT_OPTIONS in unit
    for path in (DEPLOY / "systemd").iterdir():
        parsed = configparser.ConfigParser(strict=False, interpolation=None)
        parsed.read_string(path.read_text())
        assert parsed.sections()[0] == "Unit", path
