"""linearlab.io.outputs: the one writer (links, devices, FIFOs, stdout, read-only, cleanup)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from linearlab.errors import OutputError
from linearlab.io import outputs


def test_regular_file_is_replaced_atomically_keeping_its_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    outputs.write_text(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failure_leaves_target_untouched_and_no_temp_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), outputs.open_output(target) as f:
        f.write(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_symlink_is_followed_and_kept(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "link.txt").symlink_to("real.txt")
    outputs.write_text(tmp_path / "link.txt", "new")
    assert os.readlink(tmp_path / "link.txt") == "real.txt"
    assert (tmp_path / "real.txt").read_text() == "new"


def test_same_file_as_an_input_is_refused(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    os.link(data, tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(data)
    for name in ("data.csv", "hard.csv", "soft.csv", "./sub/../data.csv"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(OutputError, match="same file as the input"):
            outputs.resolve(tmp_path / name, inputs=[str(data)])
    assert data.read_text() == "a\n1\n"


def test_read_only_needs_force(tmp_path):
    target = tmp_path / "ro.txt"
    target.write_text("keep")
    target.chmod(0o444)
    with pytest.raises(OutputError, match=r"read-only \(mode 0444\).*--force"):
        outputs.write_text(target, "new")
    assert target.read_text() == "keep"
    outputs.write_text(target, "new", force=True)
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o444


def test_missing_directory_names_the_users_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="directory 'nodir/sub' does not exist") as info:
        outputs.write_text("nodir/sub/p.csv", "x")
    assert ".tmp-" not in str(info.value)
    with pytest.raises(OutputError, match="is a directory"):
        outputs.resolve(tmp_path)


def test_prepare_directory_creates_one_level(tmp_path):
    assert outputs.prepare_directory(tmp_path / "plots").is_dir() or (tmp_path / "plots").is_dir()
    with pytest.raises(OutputError, match="does not exist"):
        outputs.prepare_directory(tmp_path / "a" / "b")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="not a directory"):
        outputs.prepare_directory(tmp_path / "file")


def test_device_is_written_in_place(tmp_path):
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    target = outputs.resolve(node)
    assert target.kind == "stream"
    with outputs.atomic_path(node) as tmp:  # path-based writers (matplotlib, PIL) too
        with open(tmp, "w") as f:
            f.write("x")
    outputs.write_text(node, "model")
    assert stat.S_ISCHR(node.lstat().st_mode) and os.listdir(tmp_path) == ["null"]


def test_fifo_is_written_as_a_stream(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got = {}

    def read():
        with open(fifo, "rb") as f:
            got["data"] = f.read()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    outputs.write_text(fifo, "streamed\n")
    reader.join(10)
    assert got["data"] == b"streamed\n" and stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.parametrize("name", ["-", "/dev/stdout"])
def test_dash_and_dev_stdout_mean_standard_output(name):
    code = ("from linearlab.io import outputs; "
            f"outputs.write_text({name!r}, 'hello\\n')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout == "hello\n"
    assert outputs.resolve(name).kind == "stdout"


def test_sigterm_and_exit_remove_the_temporary_file(tmp_path):
    code = (
        "import os, sys, time\n"
        "from linearlab.io import outputs\n"
        "with outputs.open_output(sys.argv[1]) as f:\n"
        "    f.write(b'partial')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "p.csv")],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "writing\n"
    assert any(n.startswith(".tmp-") for n in os.listdir(tmp_path))
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 128 + signal.SIGTERM
    assert os.listdir(tmp_path) == []
    # and at interpreter exit, even when the writer never reached its cleanup
    code = ("import os, sys\nfrom linearlab.io import outputs\n"
            "cm = outputs.atomic_path(sys.argv[1]); cm.__enter__(); sys.exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "q.csv")], timeout=120,
                   check=True)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- partitioned folders
def test_partitioned_folder_is_published_whole_and_never_replaces_an_input(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "part-0.parquet").write_bytes(b"input")
    for target in (data, tmp_path):  # the input folder itself, and a folder holding it
        with pytest.raises(OutputError, match="holds, the input"), outputs.atomic_directory(
            target, inputs=[data / "part-0.parquet"], force=True
        ):
            pass
    assert (data / "part-0.parquet").read_bytes() == b"input"

    out = tmp_path / "pred"
    with outputs.atomic_directory(out, inputs=[data]) as tmp:
        (Path(tmp) / "part-0.csv").write_text("1\n")
        assert not out.exists()  # nothing is visible until the block ends
    assert sorted(os.listdir(out)) == ["part-0.csv"]
    with pytest.raises(OutputError, match="not empty"), outputs.atomic_directory(out):
        pass
    with pytest.raises(RuntimeError), outputs.atomic_directory(out, force=True) as tmp:
        (Path(tmp) / "half.csv").write_text("")
        raise RuntimeError("interrupted")
    assert sorted(os.listdir(out)) == ["part-0.csv"]  # the old folder stays; no temp folder left
    assert sorted(os.listdir(tmp_path)) == ["data", "pred"]
