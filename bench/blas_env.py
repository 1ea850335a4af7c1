"""The same OpenBLAS kernels on both sides of a benchmark. Debian 12's OpenBLAS falls back to its generic
Prescott kernels on CPUs newer than itself; the hftc command then runs with OPENBLAS_CORETYPE naming
better ones (`hftc --version` says which), and Debian's torch, which calls OpenBLAS too, must get them
as well. Python standard library only."""
import os
import re
import subprocess


def same_kernels(hftc):
    """Sets OPENBLAS_CORETYPE in this process's environment (inherited by every run) to the kernels the
    hftc command at path hftc runs, unless it is set; returns its value."""
    if "OPENBLAS_CORETYPE" not in os.environ:
        out = subprocess.run([hftc, "--version"], check=True, capture_output=True, text=True).stdout
        found = re.search(r"OpenBLAS (\S+) kernels", out)
        if found:
            os.environ["OPENBLAS_CORETYPE"] = found.group(1)
    return os.environ.get("OPENBLAS_CORETYPE", "OpenBLAS's choice")
