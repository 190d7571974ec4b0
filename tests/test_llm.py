"""The bundled model and the choice of backend, run for real on the 0.5B model; what every backend must do
is checked once per backend in test_backend_conformance.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from llm import llamacpp_backend
from llm.base import Generator, Halt, Message
from llm.bundled import LIGHT, BundledModelError, assemble, gguf_architecture, model_cache_dir
from llm.loader import load_generator, pick_backend


def test_bundled_light_model_is_assembled_verified_and_a_qwen2_gguf(generator: Generator) -> None:
    path = assemble(LIGHT)
    assert path.parent == model_cache_dir()
    assert path.stat().st_size == 491_400_064
    assert gguf_architecture(path) == "qwen2"


def test_parts_that_do_not_match_the_pinned_checksum_are_refused(tmp_path: Path) -> None:
    tampered = dataclasses.replace(LIGHT, sha256="0" * 64)
    with pytest.raises(BundledModelError, match="do not match its pinned checksum"):
        assemble(tampered, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left behind


def test_a_missing_model_package_is_named() -> None:
    absent = dataclasses.replace(LIGHT, module_prefix="no_such_model_part", distribution_prefix="no-such-model-part")
    with pytest.raises(BundledModelError, match="no-such-model-part1"):
        assemble(absent)


def test_auto_backend_says_what_it_picked(generator: Generator, tmp_path: Path) -> None:
    assert pick_backend(tmp_path, "auto", "cpu") == "transformers"  # a model folder: only transformers runs it
    assert "via transformers on cpu" in generator.describe()


@pytest.mark.skipif(not llamacpp_backend.available(), reason="llama-cpp-python (the 'llama' extra) is not installed")
def test_auto_backend_runs_a_gguf_on_the_cpu_with_llama_cpp() -> None:
    assert pick_backend(assemble(LIGHT), "auto", "cpu") == "llama.cpp"


def _site_packages_without_llama(folder: Path) -> Path:
    """A copy (by links) of this environment's site-packages without llama-cpp-python: a machine where the
    first `make run` is still compiling it."""
    import site

    source = Path(site.getsitepackages()[0])
    folder.mkdir()
    for entry in source.iterdir():
        if not entry.name.startswith(("llama_cpp", "llama-cpp")) and entry.suffix != ".pth":
            (folder / entry.name).symlink_to(entry)
    return folder


def test_the_quality_model_waits_for_llama_cpp_on_the_light_one_instead_of_8_gb_of_fp32(
    generator: Generator, tmp_path: Path
) -> None:
    """Without llama.cpp the quality model would run de-quantised to fp32 on transformers (8.3 GB resident);
    the light one answers until llama.cpp is installed, and then the quality one takes over."""
    import json
    import os
    import subprocess
    import sys

    from llm.loader import llama_arrived

    script = (
        "import json\nfrom llm.loader import load_generator\nsaid = []\n"
        "g = load_generator('quality', 'auto', 'cpu', status=said.append)\n"
        "print(json.dumps({'name': g.name, 'backend': g.backend, 'said': said}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    path = f"{root}{os.pathsep}{_site_packages_without_llama(tmp_path / 'site')}"
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": path},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "0.5b" in loaded["name"].lower() and loaded["backend"] == "transformers"
    assert loaded["said"][0] == "llama.cpp is not installed yet: answering with the light model until it is…"
    if llamacpp_backend.available():  # here it is: the next question loads the quality model on it
        assert llama_arrived(generator, "quality", "auto")


@pytest.mark.skipif(not llamacpp_backend.available(), reason="llama-cpp-python (the 'llama' extra) is not installed")
def test_llama_cpp_holds_again_what_it_kept_after_other_prompts_displaced_it() -> None:
    """What a follow-up needs after the citation judge has read its own prompts: the question and answer
    held again, so only the follow-up is processed, and the reply the same as from a fresh read."""
    generator = load_generator("light", backend="llama.cpp")
    asked = [Message("system", "Answer briefly."), Message("user", "Name three colours of the rainbow.")]
    first = generator.render(asked)
    reply = "".join(generator.stream_prompt(first, 24, 0.0, Halt()))
    kept = generator.keep()
    follow = generator.render([*asked, Message("assistant", reply), Message("user", "And which comes first?")])
    generator.prefill(generator.render([Message("system", "Judge."), Message("user", "Is grass green? " * 20)]))
    assert generator.held_tokens(follow) < 10  # the judge's prompt displaced it
    generator.restore(kept)
    assert generator.held_tokens(follow) >= generator.count_tokens(first)
    "".join(generator.stream_prompt(follow, 8, 0.0, Halt()))
    assert generator.prompt_tokens_read <= generator.count_tokens(follow) - generator.count_tokens(first)
    options = ["Red", "Violet", "Orange", "The"]
    restored = generator.choice_probabilities(follow, options)
    generator.prefill(generator.render([Message("system", "Judge."), Message("user", "Is the sky blue? " * 20)]))
    assert generator.held_tokens(follow) < 10
    fresh = generator.choice_probabilities(follow, options)  # the whole prompt read afresh
    # the same next-word odds (a cache computed token by token differs from one read in a batch only in
    # rounding, so the greedy reply may not be word for word the same)
    assert restored is not None and fresh is not None
    assert max(abs(restored[o] - fresh[o]) for o in options) < 0.05, (restored, fresh)


# /proc/cpuinfo's flags line of an AVX-512 server CPU (Intel Xeon, Sapphire Rapids), shortened.
AVX512_CPU = (
    "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\n"
    "flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512bw "
    "avx512vl avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8\n"
)


def test_llama_cpp_says_which_kernels_it_runs_and_which_of_the_cpus_it_leaves() -> None:
    build = llamacpp_backend.kernels()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and " avx2 " in cpuinfo.read_text():
        assert "AVX2" in build and "FMA" in build  # the portable x86 build: AVX2 kernels, no newer ones
    portable = llamacpp_backend.kernels_in("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 0 | FMA = 1 | OPENMP = 1 |")
    assert portable == ["SSE3", "AVX", "AVX2", "FMA"]
    assert llamacpp_backend.unused(portable, AVX512_CPU) == ["AVX512", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8"]
    native = [*portable, "AVX512", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8"]
    assert llamacpp_backend.unused(native, AVX512_CPU) == []
    assert llamacpp_backend.unused(portable, "processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n") == []
