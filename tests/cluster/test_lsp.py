"""Language help in a cluster: the language-help socket reaches the pad's home node wherever it connects (HAProxy
routes it there; another node relays it), and the pad's language server runs on that home node."""

from __future__ import annotations

import subprocess

from padbox_dev.local_cluster import LocalCluster
from tests.cluster.conftest import ws_front, ws_node
from tests.cluster.test_pads import AUTH, home_of, peer
from tests.eventually import eventually
from tests.pads_client import LspClient, http

TEXT = "import os\nos.pa\n"


async def test_a_language_help_socket_on_another_node_is_served_by_the_pads_home(cluster: LocalCluster) -> None:
    body = {"language": "python", "files": [{"name": "main.py", "content": TEXT}]}
    status, pad = http("POST", f"{cluster.layout.front_url}/api/v1/pads", body, AUTH)
    assert status == 201, pad
    async with peer(ws_front(cluster, ""), pad, "front"):  # the pad's room opens on its home
        home = await home_of(cluster, pad["id"])
        other = next(n for n in cluster.layout.node_ids() if n != home)
        client = await LspClient.connect(ws_node(cluster, other, ""), pad["id"], pad["keys"]["edit"], headers=AUTH)
        try:

            async def completes() -> bool:
                answer = await client.ask("textDocument/completion", "main.py", TEXT, 1, 5)
                return "path" in [item["label"] for item in (answer.get("result") or {}).get("items", [])]

            await eventually(completes, 60, "os.pa completes to path through the relay")
            nodes = subprocess.run(
                [
                    "docker",
                    "ps",
                    "--filter",
                    f"label=padbox.session=lsp-{pad['id']}",
                    "--format",
                    '{{.Label "padbox.node"}}',
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            assert nodes == [home], f"the language server runs on {nodes}, not on the pad's home {home}"
        finally:
            await client.close()
