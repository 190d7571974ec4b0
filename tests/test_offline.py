"""The suite runs with the network trapped and the hub switched off; nothing is downloaded."""

from __future__ import annotations

import os
import socket

from conftest import is_loopback


def test_hub_is_offline_and_sockets_are_trapped() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert socket.socket.connect.__name__ == "_offline_connect"
    assert is_loopback(("127.0.0.1", 80)) and is_loopback(("::1", 80, 0, 0)) and is_loopback("/tmp/x.sock")
    assert not is_loopback(("93.184.216.34", 443)) and not is_loopback(("huggingface.co", 443))
