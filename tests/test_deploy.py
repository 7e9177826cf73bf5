"""The files in deploy/ name only options, paths, settings and endpoints that pdrun really has."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import yaml

from runner.cli.serve import serve
from runner.health import ENDPOINTS, parse_address
from runner.launch import Launcher
from runner.schedules import build_schedules

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def serve_options(argv: list[str]) -> dict:
    """Parse `pdrun serve ...` as pdrun would; fail on any option it does not have."""
    assert argv[0].endswith("pdrun") and argv[1] == "serve", argv
    with serve.make_context("serve", argv[2:]) as ctx:
        return ctx.params


def deployed_config():
    launcher = Launcher(environ={}, cwd=DEPLOY)
    config = launcher.config(DEPLOY / "config.toml")
    assert build_schedules(config, launcher)
    return config


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(DEPLOY / "pdrun.service")
    return parser


def test_the_config_is_valid_and_reads_secrets_from_the_environment():
    config = deployed_config()
    assert config.runner.state_env == "PDRUN_STATE" and config.pagerduty.token_env == "PAGERDUTY_API_TOKEN"


def test_the_systemd_unit_runs_serve_with_real_options():
    service = unit()["Service"]
    options = serve_options(shlex.split(service["ExecStart"]))
    assert options["config_path"] == Path("/etc/pdrun/config.toml")
    assert parse_address(options["http"]) == ("127.0.0.1", 9100)
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # serve reloads its schedules on SIGHUP
    assert int(service["TimeoutStopSec"].rstrip("s")) > deployed_config().runner.shutdown_grace_s
    assert service["Environment"] == "XDG_STATE_HOME=/var/lib" and service["StateDirectory"] == "pdrun"


def test_the_kubernetes_manifest_runs_two_replicas_probed_on_real_endpoints():
    [deployment] = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]
    assert deployment["kind"] == "Deployment" and deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    options = serve_options(container["command"] + container["args"])
    host, port = parse_address(options["http"])
    assert host == "0.0.0.0" and {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in ENDPOINTS and annotations["prometheus.io/port"] == str(port)

    config = deployed_config()
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert set(secrets) == {config.pagerduty.token_env, config.runner.state_env}
    assert pod["terminationGracePeriodSeconds"] > config.runner.shutdown_grace_s
    [mount] = container["volumeMounts"]
    assert Path(mount["mountPath"]) == options["config_path"].parent
    [volume] = pod["volumes"]
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    [generated] = kustomization["configMapGenerator"]
    assert volume["configMap"]["name"] == generated["name"] and generated["files"] == [options["config_path"].name]
    assert all((DEPLOY / path).is_file() for path in [*kustomization["resources"], *generated["files"]])


def test_the_dockerfile_copies_what_the_package_is_built_from():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    copied = [path for line in lines if line.startswith("COPY ") for path in line.split()[1:-1]]
    assert copied and all((REPO / path).exists() for path in copied)
    assert 'ENTRYPOINT ["pdrun"]' in lines
