"""The update file: signed manifest, architecture, completeness (issue 15)."""

from __future__ import annotations

import io
import json
import random
import tarfile

import pytest

from daemons.core.update import UpdateError
from daemons.core.update.bundle import MANIFEST, unpack, verify
from daemons.core.update.keys import trusted_keys


def keys(site):
    return trusted_keys(site.layout.keys_dir)


def test_a_signed_bundle_verifies_and_unpacks_to_the_same_tree(site, tmp_path):
    path = site.bundle("2.0.0")
    verified = verify(path, keys(site), "amd64")
    assert verified.version == "2.0.0"
    assert verified.key.id == keys(site)[0].id
    dest = tmp_path / "out"
    unpack(verified, dest)
    src = site.work / "tree-2.0.0"
    assert (dest / "acqd").is_symlink() and (dest / "acqd").readlink().as_posix() == "wellgate"
    assert (dest / "wellgate").stat().st_mode & 0o777 == 0o755
    for rel in ("wellgate", "_internal/library.bin", "wellgate-build.json"):
        assert (dest / rel).read_bytes() == (src / rel).read_bytes()
    names = {e["path"] for e in verified.manifest["files"]}
    assert {"wellgate", "acqd", "_internal", "_internal/library.bin"} <= names


def test_a_bundle_signed_by_an_untrusted_key_is_refused(site):
    path = site.bundle("2.0.0", key=site.other_key)
    with pytest.raises(UpdateError, match="signature does not match any trusted key"):
        verify(path, keys(site), "amd64")


def test_no_trusted_keys_refuses_everything(site):
    with pytest.raises(UpdateError, match="no trusted update keys"):
        verify(site.bundle("2.0.0"), [], "amd64")


def test_a_bundle_for_another_architecture_is_refused(site):
    path = site.bundle("2.0.0", arch="arm64")
    with pytest.raises(UpdateError, match="built for arm64, this gateway is amd64"):
        verify(path, keys(site), "amd64")


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95, 0.999, -1])
def test_a_truncated_file_is_refused(site, cut):
    """Cut anywhere: in the manifest, in the payload, in the archive's end padding."""
    noise = random.Random(7).randbytes(200_000)  # incompressible: the payload is large
    path = site.bundle("2.0.0", extra={"_internal/big.bin": noise})
    data = path.read_bytes()
    path.write_bytes(data[: (len(data) - 1) if cut == -1 else int(len(data) * cut)])
    with pytest.raises(UpdateError, match=r"refused.*(truncated|incomplete|damaged|missing)"):
        verify(path, keys(site), "amd64")


def test_an_altered_manifest_breaks_the_signature(site, tmp_path):
    """Changing the declared architecture (or anything) in a signed manifest."""
    path = site.bundle("2.0.0")
    forged = tmp_path / "forged.wgu"
    with tarfile.open(path) as src, tarfile.open(forged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == MANIFEST:
                manifest = json.loads(data)
                manifest["version"] = "9.9.9"
                data = json.dumps(manifest, indent=1, sort_keys=True).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(UpdateError, match="signature does not match"):
        verify(forged, keys(site), "amd64")


def test_a_payload_swapped_under_a_valid_signature_is_refused(site, tmp_path):
    """The signed manifest pins the payload's hash: another image's payload is refused."""
    good, other = site.bundle("2.0.0"), site.bundle("3.0.0")
    mixed = tmp_path / "mixed.wgu"
    with tarfile.open(good) as a, tarfile.open(other) as b, tarfile.open(mixed, "w") as dst:
        members = a.getmembers()[:2] + b.getmembers()[2:]
        for m in members:
            dst.addfile(m, (a if m in a.getmembers() else b).extractfile(m))
    with pytest.raises(UpdateError, match="payload is incomplete or altered"):
        verify(mixed, keys(site), "amd64")


def test_not_an_update_file(site, tmp_path):
    junk = tmp_path / "junk.wgu"
    junk.write_bytes(b"MZ this is not a tar file at all" * 100)
    with pytest.raises(UpdateError, match=r"damaged or truncated|not a wellgate update"):
        verify(junk, keys(site), "amd64")


def test_a_signed_link_out_of_the_tree_is_refused_at_unpack(site, tmp_path):
    """The signature proves who built it, not that it is harmless: a link leaving the
    version's directory is refused and nothing stays behind."""
    tree = site.tree("2.0.0")
    (tree / "_internal" / "escape").symlink_to("../../../etc")
    out = tmp_path / "evil.wgu"
    from daemons.core.update.bundle import build

    build(tree, out, site.key, arch="amd64")
    verified = verify(out, keys(site), "amd64")
    dest = tmp_path / "unpacked"
    with pytest.raises(UpdateError, match="points outside its folder"):
        unpack(verified, dest)
    assert not dest.exists()
