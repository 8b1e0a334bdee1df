"""The plant beyond one machine: the Kubernetes manifests (docker/plant/) and the generated compose file.

Neither Kubernetes nor Docker runs here, so the manifests are parsed with PyYAML and checked for
what makes them work (a headless Service named as the StatefulSet's serviceName, selecting its
pods, EtherNet/IP's port over TCP and UDP); the pod's own command is then run here, as the pod's
shell would run it (its ordinal from the host name, its address from the downward API), and must
serve that pod's shard at that address.  The compose file ``python -m cpppo.plant compose`` writes
is parsed the same way.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.peers.process import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
PLANT = """\
[[controllers]]
name = "cell{i}"
count = 3
address = "127.0.5.1"
tags = ["SCADA=INT[100]"]
identity = { product_name = "Cell {i}" }
"""


def _manifests() -> dict[str, dict]:
    documents = {}
    for path in (ROOT / "docker" / "plant").glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            documents[document["kind"]] = document
    return documents


def test_a_headless_service_names_each_pod_of_the_statefulset() -> None:
    manifests = _manifests()
    service, stateful = manifests["Service"], manifests["StatefulSet"]
    assert service["spec"]["clusterIP"] == "None"
    assert stateful["spec"]["serviceName"] == service["metadata"]["name"]
    labels = stateful["spec"]["template"]["metadata"]["labels"]
    assert stateful["spec"]["selector"]["matchLabels"] == labels
    assert all(labels[k] == v for k, v in service["spec"]["selector"].items())
    assert {(p["port"], p["protocol"]) for p in service["spec"]["ports"]} >= {(44818, "TCP"), (44818, "UDP")}
    container = stateful["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["PLANT_SIZE"]["value"] == str(stateful["spec"]["replicas"])
    mount = container["volumeMounts"][0]["mountPath"]
    assert container["command"][-1].endswith(f"{mount}/plant.toml")


def test_the_pods_command_serves_its_own_shard_at_the_pods_address() -> None:
    container = _manifests()["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]
    with tempfile.TemporaryDirectory() as folder:
        plant = Path(folder) / "plant.toml"
        plant.write_text(PLANT)
        pod_ip = f"127.{random.randrange(100, 250)}.{random.randrange(0, 250)}.7"
        command = [*container["command"][:-1], container["command"][-1].replace("/plant/plant.toml", str(plant))
                   + " -A"]
        env = {**os.environ, "HOSTNAME": "cpppo-plant-2", "PLANT_SIZE": "3", "POD_IP": pod_ip,
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        with open(Path(folder) / "output", "wb") as out:
            proc = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        with ServerProcess(proc, command, tempfile.TemporaryDirectory()) as server:
            deadline = time.monotonic() + 30
            output = ""
            while "started in" not in output and time.monotonic() < deadline and server.alive():
                time.sleep(0.1)
                output = (Path(folder) / "output").read_text()
            assert re.search(rf"^cell2 enip {re.escape(pod_ip)}:44818$", output, re.M), output
            assert "cell0" not in output and "cell1" not in output
            with socket.create_connection((pod_ip, 44818), timeout=5.0):
                pass


def test_the_compose_file_is_yaml_with_each_address_on_the_network() -> None:
    with tempfile.TemporaryDirectory() as folder:
        plant = Path(folder) / "plant.toml"
        plant.write_text(PLANT + '[[modbus]]\nname = "meter"\naddress = "127.0.9.1"\nregisters = ["40001"]\n')
        done = subprocess.run([sys.executable, "-m", "cpppo.plant", "compose", "--subnet", "172.30.0.0/16",
                               str(plant)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        document = yaml.safe_load(done.stdout)
        refused = subprocess.run([sys.executable, "-m", "cpppo.plant", "compose", str(plant)], capture_output=True,
                                 text=True, timeout=60)
    network = document["networks"]["plant"]["ipam"]["config"][0]
    subnet = ipaddress.IPv4Network(network["subnet"])
    assert subnet == ipaddress.IPv4Network("172.30.0.0/16")
    services = document["services"]
    assert list(services) == ["cell0", "cell1", "cell2", "meter"]
    addresses = [s["networks"]["plant"]["ipv4_address"] for s in services.values()]
    assert addresses == ["172.30.5.1", "172.30.5.2", "172.30.5.3", "172.30.9.1"]
    assert all(ipaddress.IPv4Address(a) in subnet for a in [*addresses, network["gateway"]])
    assert network["gateway"] not in addresses
    assert services["meter"]["command"][3:7] == ["--shard", "3/4", "--host", "172.30.9.1"]
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "give --subnet" in refused.stderr


def test_the_example_plant_file_is_the_readmes_and_is_valid() -> None:
    from cpppo.plant.reader import read

    example = ROOT / "docker" / "plant" / "plant.toml"
    readme = (ROOT / "README.md").read_text()
    start = readme.index("Every key is shown here (`docker/plant/plant.toml`)")
    shown = re.search(r"^```toml\n(.*?)^```$", readme[start:], re.M | re.S).group(1)
    body = "".join(line + "\n" for line in example.read_text().splitlines() if not line.startswith("#")).lstrip()
    assert shown == body
    plant = read(str(example))
    assert (len(plant.controllers), len(plant.modbus)) == (203, 10)
    assert [(c.name, c.slot) for c in plant.controllers[-2:]] == [("rack0", 1), ("rack1", 2)]
