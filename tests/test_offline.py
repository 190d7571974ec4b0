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


def test_index_ask_and_export_work_with_the_network_trapped(tmp_path, capsys) -> None:
    from pypdf import PdfReader

    from app.main import main

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "boat.md").write_text("# Boat\nThe bilge pump must be tested every spring.\n")
    library = str(tmp_path / "lib")
    assert main(["--library", library, "index", str(docs), "--quiet"]) == 0
    export = tmp_path / "answer.pdf"
    assert (
        main(
            [
                "--library",
                library,
                "ask",
                "When must the bilge pump be tested?",
                "--model",
                "light",
                "--backend",
                "transformers",
                "--export",
                str(export),
            ]
        )
        == 0
    )
    assert "boat.md" in capsys.readouterr().out
    assert "boat.md" in " ".join(page.extract_text() for page in PdfReader(str(export)).pages)
