"""Bundles: every refusal the issue lists, as an attack on a real signed bundle."""

from __future__ import annotations

import io
import json
import tarfile
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsw.payload.bundle import (
    METADATA,
    SIGNATURES,
    BundleError,
    Refusal,
    build_metadata,
    collect_files,
    pack,
    public_raw,
    read_archive,
    verify_bundle,
    write_bundle,
)
from fsw.payload.manifest import Allocation, Allocations, Resources, parse_manifest
from tests.payload.kit import make_project

NOW = time.time()


@pytest.fixture()
def keys():
    return {"uni-a": Ed25519PrivateKey.generate(), "uni-b": Ed25519PrivateKey.generate(),
            "operator": Ed25519PrivateKey.generate()}


@pytest.fixture()
def allocations(keys):
    res = Resources(cpu_percent=20, memory_mib=256, storage_kib=4096, messages_per_s=200,
                    downlink_bytes_per_day=5_000_000)
    return Allocations({
        "uni-a": Allocation("uni-a", 0x100, 0x10F, res, public_key=public_raw(keys["uni-a"])),
        "uni-b": Allocation("uni-b", 0x110, 0x11F, res, public_key=public_raw(keys["uni-b"])),
    }, operator_key=public_raw(keys["operator"]))


@pytest.fixture()
def project(tmp_path):
    return make_project(tmp_path, "hello", version=3)


def good(project, keys, **kw):
    return pack(project, keys["uni-a"], operator_key=keys["operator"], now_s=NOW, **kw)


def refusal(data, allocations, **kw) -> Refusal:
    with pytest.raises(BundleError) as err:
        verify_bundle(data, allocations, now_s=NOW, **kw)
    assert str(err.value).startswith(err.value.reason.value + ": ")
    return err.value.reason


def rebuild(data: bytes, change) -> bytes:
    files = read_archive(data)
    change(files)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_a_partner_and_operator_signed_bundle_is_accepted(project, keys, allocations):
    v = verify_bundle(good(project, keys), allocations, now_s=NOW, highest_version=2)
    assert (v.manifest.name, v.manifest.version, v.manifest.partner) == ("hello", 3, "uni-a")
    assert set(v.files) == {"manifest.toml", "app/hello/__init__.py", "app/hello/app.py"}


def test_packing_is_reproducible(project, keys):
    # Ed25519 signatures are deterministic (RFC 8032), the archive has fixed mtimes
    assert good(project, keys) == good(project, keys)


def test_unsigned_bundle_is_refused(project, keys, allocations):
    files = collect_files(project)
    meta = build_metadata(files, parse_manifest(files["manifest.toml"]), expires_s=NOW + 1e5)
    assert refusal(write_bundle(files, meta, None), allocations) is Refusal.UNSIGNED


def test_bundle_without_the_operator_cosignature_is_refused(project, keys, allocations):
    data = pack(project, keys["uni-a"], now_s=NOW)
    with pytest.raises(BundleError, match="no operator signature"):
        verify_bundle(data, allocations, now_s=NOW)


def test_bundle_signed_by_another_partner_is_refused(project, keys, allocations):
    data = pack(project, keys["uni-b"], operator_key=keys["operator"], now_s=NOW)
    assert refusal(data, allocations) is Refusal.WRONG_SIGNATURE


def test_bundle_cosigned_by_a_key_that_is_not_the_operators_is_refused(project, keys,
                                                                        allocations):
    data = pack(project, keys["uni-a"], operator_key=keys["uni-b"], now_s=NOW)
    assert refusal(data, allocations) is Refusal.WRONG_SIGNATURE


def test_forged_signature_with_the_right_key_id_is_refused(project, keys, allocations):
    def forge(files):
        sigs = json.loads(files[SIGNATURES])
        sigs[0]["sig"] = "00" * 64
        files[SIGNATURES] = json.dumps(sigs).encode()
    assert refusal(rebuild(good(project, keys), forge), allocations) is Refusal.WRONG_SIGNATURE


def test_changed_app_file_is_tampered(project, keys, allocations):
    def evil(files):
        files["app/hello/app.py"] += b"\nimport os; os.system('rm -rf /')\n"
    assert refusal(rebuild(good(project, keys), evil), allocations) is Refusal.TAMPERED


def test_added_file_is_tampered(project, keys, allocations):
    def add(files):
        files["app/hello/sitecustomize.py"] = b"print('hi')"
    assert refusal(rebuild(good(project, keys), add), allocations) is Refusal.TAMPERED


def test_removed_file_is_tampered(project, keys, allocations):
    def drop(files):
        del files["app/hello/__init__.py"]
    assert refusal(rebuild(good(project, keys), drop), allocations) is Refusal.TAMPERED


def test_edited_metadata_breaks_both_signatures(project, keys, allocations):
    def bump(files):
        files[METADATA] = files[METADATA].replace(b'"version":3', b'"version":9')
    assert refusal(rebuild(good(project, keys), bump), allocations) is Refusal.WRONG_SIGNATURE


@pytest.mark.parametrize("highest", [3, 4, 100])
def test_version_not_above_the_installed_one_is_rolled_back(project, keys, allocations,
                                                            highest):
    assert refusal(good(project, keys), allocations, highest_version=highest) \
        is Refusal.ROLLED_BACK


def test_expired_bundle_is_refused(project, keys, allocations):
    data = good(project, keys, valid_days=1)
    with pytest.raises(BundleError) as err:
        verify_bundle(data, allocations, now_s=NOW + 2 * 86400)
    assert err.value.reason is Refusal.EXPIRED


@pytest.mark.parametrize("kw, text", [
    ({"apid": 0x110}, "outside uni-a's 0x100-0x10f"),
    ({"cpu_percent": 50}, "cpu_percent 50 is over the allocation of 20"),
    ({"memory_mib": 1024}, "memory_mib 1024 is over"),
    ({"messages_per_s": 5000}, "messages_per_s 5000 is over"),
    ({"subscribe": ("adcsHousekeeping",)}, "topic 'adcsHousekeeping' is not granted"),
])
def test_over_allocation_is_refused_with_the_reason(tmp_path, keys, allocations, kw, text):
    project = make_project(tmp_path, "greedy", **kw)
    data = pack(project, keys["uni-a"], operator_key=keys["operator"], now_s=NOW)
    with pytest.raises(BundleError, match=text) as err:
        verify_bundle(data, allocations, now_s=NOW)
    assert err.value.reason is Refusal.OVER_ALLOCATION


@pytest.mark.parametrize("name", ["../evil.py", "/etc/passwd", "app/../../x"])
def test_unsafe_paths_are_malformed(project, keys, allocations, name):
    def add(files):
        files[name] = b"x"
    assert refusal(rebuild(good(project, keys), add), allocations) is Refusal.MALFORMED


def test_a_partner_cannot_sign_for_another_partners_app(tmp_path, keys, allocations):
    project = make_project(tmp_path, "spoof", partner="uni-b", apid=0x110)
    data = pack(project, keys["uni-a"], operator_key=keys["operator"], now_s=NOW)
    assert refusal(data, allocations) is Refusal.WRONG_SIGNATURE


_FIXTURES_OK = [HealthCheck.function_scoped_fixture]  # read-only fixtures


@settings(max_examples=200, deadline=None, suppress_health_check=_FIXTURES_OK)
@given(st.binary(max_size=4096))
def test_any_bytes_give_a_bundle_or_one_typed_error(allocations, data):
    try:
        verify_bundle(data, allocations, now_s=NOW)
    except BundleError:
        pass


@settings(max_examples=100, deadline=None, suppress_health_check=_FIXTURES_OK)
@given(st.data())
def test_a_corrupted_good_bundle_is_always_refused(project, keys, allocations, data):
    blob = bytearray(good(project, keys))
    i = data.draw(st.integers(0, len(blob) - 1))
    flip = data.draw(st.integers(1, 255))
    blob[i] ^= flip
    try:
        verify_bundle(bytes(blob), allocations, now_s=NOW)
    except BundleError:
        return
    # a flip in padding or unused header space changes nothing that is checked:
    # the verified content must then be exactly what was signed
    v = verify_bundle(good(project, keys), allocations, now_s=NOW)
    assert verify_bundle(bytes(blob), allocations, now_s=NOW).files == v.files
