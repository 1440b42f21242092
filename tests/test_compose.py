"""docker-compose.yml, the Dockerfile and the production broker config agree with the code.

No Docker engine runs here, so the checks are static (services run real CLI sub-commands,
the image carries every package, the ACL file grants what it should) plus one live check:
the machine's Mosquitto started with the production config and ACLs, with real clients.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from app.cli import cli

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
MOSQUITTO_DIR = ROOT / "deploy" / "mosquitto"
EXAMPLE_ENV = ROOT / "deploy" / "example.env"
REQUIRE_TIMESCALEDB = os.environ.get("FLEETCARE_REQUIRE_TIMESCALEDB") == "1"

GATEWAY_PATTERN = "fleet/v1/%u/#"
INGEST_READS = {"fleet/v1/#", "$share/fleetcare/fleet/v1/#"}


# -- loading ----------------------------------------------------------------------------


def _compose_via_docker() -> dict[str, Any] | None:
    """The resolved file from `docker compose config`, if a compose CLI is installed."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) is None:
            continue
        proc = subprocess.run(
            [
                *cmd,
                "-f",
                str(COMPOSE_FILE),
                "--env-file",
                str(EXAMPLE_ENV),
                "config",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode == 0:
            return json.loads(proc.stdout)
    return None


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    try:
        import yaml  # PyYAML; YAML merge keys (<<) are resolved by safe_load
    except ImportError:
        resolved = _compose_via_docker()
        if resolved is None:
            pytest.skip("neither PyYAML nor a docker compose CLI to read docker-compose.yml")
        return resolved
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def _argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def dockerfile_entrypoint() -> list[str]:
    """The exec-form ENTRYPOINT of the Dockerfile (the last one wins)."""
    found: list[str] = []
    for line in DOCKERFILE.read_text().splitlines():
        m = re.match(r"\s*ENTRYPOINT\s+(\[.*\])\s*$", line)
        if m:
            found = json.loads(m.group(1))
    return found


def fleetcare_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the Fleetcare image (built from the Dockerfile)."""
    return {
        name: svc
        for name, svc in compose["services"].items()
        if "build" in svc or str(svc.get("image", "")).startswith("fleetcare")
    }


def fleetcare_invocations(compose: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Every `fleetcare ...` argv the file runs: service commands and health checks."""
    found: list[tuple[str, list[str]]] = []
    for name, svc in compose["services"].items():
        if name in fleetcare_services(compose):
            entry = _argv(svc["entrypoint"]) if "entrypoint" in svc else dockerfile_entrypoint()
            found.append((f"{name}: command", entry + _argv(svc.get("command"))))
        test = _argv((svc.get("healthcheck") or {}).get("test"))
        if test[:1] == ["CMD-SHELL"]:
            test = shlex.split(" ".join(test[1:]))
        elif test[:1] == ["CMD"]:
            test = test[1:]
        if test[:1] == ["fleetcare"]:
            found.append((f"{name}: healthcheck", test))
    return found


def command_path(argv: list[str]) -> list[str]:
    """The sub-command words after `fleetcare` (options skipped), down through groups."""
    assert "fleetcare" in argv, f"{argv} does not run fleetcare"
    words = [w for w in argv[argv.index("fleetcare") + 1 :] if not w.startswith("-")]
    path: list[str] = []
    group: click.Command = cli
    for word in words:
        if not isinstance(group, click.Group):
            break
        path.append(word)
        if word not in group.commands:
            break
        group = group.commands[word]
    return path


# -- services run real sub-commands -----------------------------------------------------


def test_the_expected_services_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"mosquitto", "timescaledb", "ingest", "scheduler", "web"} <= set(services)
    assert set(fleetcare_services(compose)) == {"ingest", "scheduler", "web"}
    assert dockerfile_entrypoint() == ["fleetcare"]


def test_every_fleetcare_invocation_is_a_real_sub_command(compose: dict[str, Any]) -> None:
    invocations = fleetcare_invocations(compose)
    assert len(invocations) >= 3
    runner = CliRunner()
    for where, argv in invocations:
        path = command_path(argv)
        assert path, f"{where}: {argv} names no sub-command"
        group: click.Command = cli
        for word in path:
            assert isinstance(group, click.Group)
            assert word in group.commands, (
                f"{where}: `fleetcare {' '.join(path)}` - {word!r} is not a sub-command "
                f"(there are: {', '.join(sorted(group.commands))})"
            )
            group = group.commands[word]
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, f"{where}: fleetcare {' '.join(path)} --help: {result.output}"


def test_service_commands_are_the_intended_ones(compose: dict[str, Any]) -> None:
    services = compose["services"]
    entry = dockerfile_entrypoint()
    for name, sub in {"ingest": "ingest", "scheduler": "scheduler", "web": "serve"}.items():
        assert command_path(entry + _argv(services[name].get("command")))[:1] == [sub], name


def test_compose_names_the_settings_and_keeps_passwords_out(compose: dict[str, Any]) -> None:
    raw = COMPOSE_FILE.read_text()
    ingest_env = compose["services"]["ingest"]["environment"]
    for var in (
        "FLEETCARE_DATABASE_URL",
        "FLEETCARE_MQTT_URL",
        "FLEETCARE_MQTT_USERNAME",
        "FLEETCARE_MQTT_PASSWORD",
    ):
        assert var in ingest_env, var
    # Passwords are interpolated from the operator's .env, never written in the file.
    assert re.search(r"FLEETCARE_MQTT_PASSWORD:\s*\$\{FLEETCARE_MQTT_PASSWORD:\?", raw)
    assert re.search(r"POSTGRES_PASSWORD:\s*\$\{FLEETCARE_DB_PASSWORD:\?", raw)
    assert "@timescaledb" in ingest_env["FLEETCARE_DATABASE_URL"]
    assert ":" not in ingest_env["FLEETCARE_DATABASE_URL"].split("//", 1)[1].split("@")[0]


def test_example_env_names_every_required_variable() -> None:
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE_FILE.read_text()))
    assert required
    example = {
        line.split("=", 1)[0].strip()
        for line in EXAMPLE_ENV.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert required <= example, f"deploy/example.env lacks {sorted(required - example)}"


def test_image_carries_every_package() -> None:
    """A new stage folder in pyproject's wheel packages must be copied into the image."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    text = DOCKERFILE.read_text()
    copied = set(re.findall(r"^COPY\s+(\S+)\s", text, flags=re.MULTILINE))
    assert set(packages) <= copied, f"Dockerfile does not COPY {sorted(set(packages) - copied)}"
    # Pinned to a patch release: a rebuild gets the same Python.
    assert re.search(r"^FROM python:3\.11\.\d+-slim-\w+$", text, flags=re.MULTILINE)
    # No dev tools and no Jupyter in the services' image: only the project's dependencies.
    assert "uv sync --frozen --no-default-groups" in text and "--no-dev" not in text


def test_timescaledb_image_matches_the_version_tests_run_on(compose: dict[str, Any]) -> None:
    image = compose["services"]["timescaledb"]["image"]
    m = re.fullmatch(r"timescale/timescaledb:(\d+\.\d+\.\d+)-pg(\d+)", image)
    assert m, f"timescaledb image not pinned to an exact version: {image}"
    version, pg_major = m.groups()
    control = Path(f"/usr/share/postgresql/{pg_major}/extension/timescaledb.control")
    if not control.is_file():
        if REQUIRE_TIMESCALEDB:
            pytest.fail(f"{control} missing: run scripts/install_timescaledb.sh")
        pytest.skip(f"TimescaleDB not installed for PostgreSQL {pg_major} here")
    installed = re.search(r"default_version\s*=\s*'([^']+)'", control.read_text())
    assert installed, control
    assert installed.group(1) == version, (
        f"docker-compose.yml pins TimescaleDB {version}, scripts/install_timescaledb.sh "
        f"installed {installed.group(1)}: update the image tag"
    )


# -- broker config and ACLs -------------------------------------------------------------


def acl_rules() -> tuple[list[tuple[str, str]], dict[str | None, list[tuple[str, str]]]]:
    """(pattern rules, topic rules per user; None = before any user line) of the ACL file."""
    patterns: list[tuple[str, str]] = []
    topics: dict[str | None, list[tuple[str, str]]] = {}
    user: str | None = None
    for raw in (MOSQUITTO_DIR / "acl").read_text().splitlines():
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        kind, rest = words[0], words[1:]
        if kind == "user":
            user = rest[0]
            continue
        access, topic = (rest[0], rest[1]) if len(rest) == 2 else ("readwrite", rest[0])
        if kind == "pattern":
            patterns.append((access, topic))
        elif kind == "topic":
            topics.setdefault(user, []).append((access, topic))
        else:
            pytest.fail(f"unexpected ACL line: {raw}")
    return patterns, topics


def test_acl_lets_a_gateway_write_only_under_its_own_machine_id() -> None:
    patterns, topics = acl_rules()
    # Patterns apply to every client: the only one lets each write its own subtree.
    assert patterns == [("write", GATEWAY_PATTERN)]
    # Nothing for anonymous clients, no per-gateway topic lines, only the ingest user.
    assert None not in topics
    assert set(topics) == {"ingest"}
    ingest = topics["ingest"]
    assert all(access == "read" for access, _ in ingest), ingest
    assert {topic for _, topic in ingest} == INGEST_READS


def mosquitto_settings() -> tuple[dict[str, str], list[dict[str, str]]]:
    """(global settings, one dict per listener) of deploy/mosquitto/mosquitto.conf."""
    glob: dict[str, str] = {}
    listeners: list[dict[str, str]] = []
    for raw in (MOSQUITTO_DIR / "mosquitto.conf").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        if key == "listener":
            listeners.append({"listener": value})
        elif key in ("log_dest", "log_type"):
            glob[key] = f"{glob.get(key, '')} {value}".strip()
        elif listeners and key in ("allow_anonymous", "password_file", "acl_file", "protocol",
                                   "cafile", "certfile", "keyfile", "tls_version"):
            listeners[-1][key] = value
        else:
            glob[key] = value
    return glob, listeners


def test_broker_config_keeps_queued_messages_and_locks_the_gateway_listener(
    compose: dict[str, Any],
) -> None:
    glob, listeners = mosquitto_settings()
    # docs/architecture.md: the defaults drop queued QoS 1 messages; 0 is broken in some 2.0.x.
    assert int(glob["max_queued_messages"]) >= 1_000_000
    assert glob["max_queued_bytes"] == "0"
    batch = next((p for p in cli.commands["ingest"].params if p.name == "batch_messages"), None)
    most = getattr(getattr(batch, "type", None), "max", None) or 2000
    assert int(glob["max_inflight_messages"]) >= most, "inflight limit below the ingest batch"
    assert glob["persistence"] == "true"
    assert glob["autosave_interval"] == "60"
    assert glob["persistent_client_expiration"] == "14d"
    assert "warning" in glob["log_type"].split()  # "Outgoing messages are being dropped"
    assert glob["per_listener_settings"] == "true"

    public = [li for li in listeners if li["listener"] == "1883"]
    assert len(public) == 1
    assert public[0]["allow_anonymous"] == "false"
    mounts = {
        v.split(":")[1] if isinstance(v, str) else v["target"]
        for v in compose["services"]["mosquitto"]["volumes"]
    }
    assert public[0]["acl_file"] in mounts and public[0]["password_file"] in mounts
    # The TLS listener for gateways on a public network: same logins and ACL.
    tls = [li for li in listeners if li["listener"] == "8883"]
    assert len(tls) == 1
    for key in ("allow_anonymous", "password_file", "acl_file"):
        assert tls[0][key] == public[0][key], key
    for key in ("cafile", "certfile", "keyfile"):
        assert tls[0][key].startswith("/mosquitto/certs/") and "/mosquitto/certs" in mounts
    assert tls[0]["tls_version"] in ("tlsv1.2", "tlsv1.3")
    # Every other listener is bound to the container's loopback (the health check).
    for li in listeners:
        if li is not public[0] and li is not tls[0]:
            assert li["listener"].endswith(" 127.0.0.1"), li


# -- the production config on a real Mosquitto ------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_test_ca(directory: Path) -> Path:
    """A self-signed CA and a server certificate for 127.0.0.1 signed by it, made with the
    openssl command line: ca.crt, server.crt, server.key in ``directory``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (.ci/run installs it)")
    d = directory
    d.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=Fleetcare test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"), "-CAkey",
        str(d / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(d / "san.ext"),
        "-out", str(d / "server.crt"))
    for name in ("server.key", "ca.key"):
        (d / name).chmod(0o644)  # the broker may run as another user in the test
    return d


@pytest.fixture
def production_broker(tmp_path: Path) -> Iterator[tuple[int, int, dict[str, str]]]:
    """The machine's mosquitto on the production config, paths and ports made local.

    ``users`` also carries the TLS port (``_tls_port``) and the test CA (``_ca``)."""
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    passwd_tool = shutil.which("mosquitto_passwd")
    if mosquitto is None or passwd_tool is None:
        pytest.skip("mosquitto and mosquitto_passwd are not installed")
    certs = make_test_ca(tmp_path / "certs")
    port, health_port, tls_port = _free_port(), _free_port(), _free_port()
    users = {"ingest": uuid.uuid4().hex, "M1": uuid.uuid4().hex, "M2": uuid.uuid4().hex}
    passwd = tmp_path / "passwd"
    for i, (user, password) in enumerate(users.items()):
        subprocess.run(
            [passwd_tool, *(["-c"] if i == 0 else []), "-b", str(passwd), user, password],
            check=True,
            capture_output=True,
        )
    conf = (MOSQUITTO_DIR / "mosquitto.conf").read_text()
    for old, new in {
        "/mosquitto/data/": f"{tmp_path}/",
        "/mosquitto/log/mosquitto.log": str(tmp_path / "mosquitto.log"),
        "/mosquitto/secrets/passwd": str(passwd),
        "/mosquitto/config/acl-healthcheck": str(MOSQUITTO_DIR / "acl-healthcheck"),
        "/mosquitto/config/acl\n": f"{MOSQUITTO_DIR / 'acl'}\n",
        "listener 1883\n": f"listener {port} 127.0.0.1\n",
        "listener 1880 127.0.0.1\n": f"listener {health_port} 127.0.0.1\n",
        "listener 8883\n": f"listener {tls_port} 127.0.0.1\n",
        "/mosquitto/certs/": f"{certs}/",
        "log_dest stdout\n": "",
    }.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    user = "root" if os.geteuid() == 0 else ""  # root: do not switch to user mosquitto
    (tmp_path / "m.conf").write_text((f"user {user}\n" if user else "") + conf)
    proc = subprocess.Popen(
        [mosquitto, "-c", str(tmp_path / "m.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"mosquitto did not start on the production config: {err}")
                time.sleep(0.05)
        yield port, health_port, {**users, "_tls_port": str(tls_port), "_ca": str(certs)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _client(port: int, user: str | None, password: str | None) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"t-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    if user is not None:
        client.username_pw_set(user, password)
    return client


def _connect(client: Any, port: int) -> int:
    """Connect and return the CONNACK reason code (0 = accepted); a refused client is
    stopped, so its network thread does not keep retrying."""
    done = threading.Event()
    result: dict[str, int] = {}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result["rc"] = reason.value
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert done.wait(5), "no CONNACK"
    if result["rc"] != 0:
        client.disconnect()
        client.loop_stop()
    return result["rc"]


def test_production_acl_on_a_real_broker(
    production_broker: tuple[int, int, dict[str, str]],
) -> None:
    port, health_port, users = production_broker
    received: list[str] = []
    subscribed = threading.Event()

    ingest = _client(port, "ingest", users["ingest"])
    ingest.on_message = lambda _c, _u, msg: received.append(msg.topic)
    ingest.on_subscribe = lambda *_a: subscribed.set()
    assert _connect(ingest, port) == 0
    ingest.subscribe("$share/fleetcare/fleet/v1/+/+", qos=1)
    assert subscribed.wait(5)

    gateway = _client(port, "M1", users["M1"])
    assert _connect(gateway, port) == 0
    for topic in (
        "fleet/v1/M2/telemetry",
        "fleet/v1/other/faults",
        "elsewhere/x",
        "fleet/v1/M1/telemetry",
    ):
        gateway.publish(topic, b"{}", qos=1).wait_for_publish(5)

    deadline = time.monotonic() + 5
    while "fleet/v1/M1/telemetry" not in received and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # anything forged would have arrived before M1's own message
    # Only the gateway's own topic got through; the forged ones were dropped by the ACL.
    assert received == ["fleet/v1/M1/telemetry"]

    # No anonymous clients and no wrong passwords on the gateway listener.
    assert _connect(_client(port, None, None), port) != 0
    assert _connect(_client(port, "M1", "wrong"), port) != 0
    for c in (ingest, gateway):
        c.disconnect()
        c.loop_stop()

    # The health check of docker-compose.yml, against the container-local listener.
    sub = shutil.which("mosquitto_sub")
    if sub:
        proc = subprocess.run(
            [
                sub,
                "-h",
                "127.0.0.1",
                "-p",
                str(health_port),
                "-t",
                "$SYS/broker/version",
                "-C",
                "1",
                "-W",
                "5",
            ],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        assert proc.returncode == 0 and proc.stdout.startswith("mosquitto version"), proc


def test_every_image_is_pinned_to_a_release(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        image = str(svc.get("image", ""))
        if name in fleetcare_services(compose):
            continue  # built here from the Dockerfile (whose base image is pinned)
        assert re.search(r":\d+\.\d+\.\d+", image), f"{name}: image {image!r} floats"


def test_python_health_checks_name_real_modules(compose: dict[str, Any]) -> None:
    import importlib.util

    checked = 0
    for name, svc in compose["services"].items():
        test = _argv((svc.get("healthcheck") or {}).get("test"))
        if test[1:3] == ["python", "-m"]:
            assert importlib.util.find_spec(test[3]) is not None, f"{name}: {test}"
            checked += 1
    assert checked >= 2
