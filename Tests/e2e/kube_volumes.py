"""What the kubelet does to a ConfigMap, Secret or projected volume, on a local directory: the files live in a
timestamped folder, `..data` links to it, and every top-level name links through `..data`; an update writes a new
folder and re-points `..data` with one rename. Tests/e2e/test_kubernetes.py mounts the manifests' volumes this way."""
import os
import shutil
import time


def _write_generation(volume, files):
    generation = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    for relative, data in files.items():
        path = os.path.join(volume, generation, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    return generation


def create(volume, files):
    """A fresh volume holding `files` ({relative path: bytes or str})."""
    os.makedirs(volume, exist_ok=True)
    generation = _write_generation(volume, files)
    os.symlink(generation, os.path.join(volume, "..data"))
    for top in sorted({relative.split("/")[0] for relative in files}):
        os.symlink(os.path.join("..data", top), os.path.join(volume, top))


def update(volume, files):
    """Replaces the volume's content atomically, as the kubelet does after the object changed (same top-level names)."""
    old = os.readlink(os.path.join(volume, "..data"))
    generation = _write_generation(volume, files)
    temporary = os.path.join(volume, "..data_tmp")
    os.symlink(generation, temporary)
    os.rename(temporary, os.path.join(volume, "..data"))
    shutil.rmtree(os.path.join(volume, old))
