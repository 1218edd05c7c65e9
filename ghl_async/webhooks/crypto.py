"""Every use of the optional ``cryptography`` package: loading keys, verifying, signing.

``cryptography`` is imported inside the functions, so ``import ghl_async.webhooks`` works without
the ``ghl-async[webhooks]`` extra; the first signature operation then raises
:class:`CryptographyMissingError`.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from ghl_async.errors import ConfigError
from ghl_async.webhooks.errors import CryptographyMissingError, SignatureError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = [
    "ED25519_HEADER",
    "RSA_HEADER",
    "Algorithm",
    "KeyPair",
    "TestingKeys",
    "generate_ed25519_keys",
    "generate_rsa_keys",
    "sign_ed25519",
    "sign_rsa",
    "testing_keys",
]

Algorithm = Literal["ed25519", "rsa"]

ED25519_HEADER: Final = "x-ghl-signature"
RSA_HEADER: Final = "x-wh-signature"

_ED25519_SIGNATURE_BYTES: Final = 64
# A 16 KiB RSA key signs 2 KiB; anything longer than this is not a signature, so don't decode it.
_MAX_SIGNATURE_CHARS: Final = 4096


def require_cryptography() -> None:
    """Raise :class:`CryptographyMissingError` unless ``cryptography`` can be imported."""
    try:
        import cryptography  # noqa: F401
    except ImportError as err:
        raise CryptographyMissingError() from err


def _as_bytes(pem: str | bytes) -> bytes:
    return pem.encode("ascii") if isinstance(pem, str) else pem


@functools.lru_cache(maxsize=32)
def load_ed25519_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """Load a PEM ``PUBLIC KEY`` that must be Ed25519.

    Raises:
        ConfigError: the PEM is unreadable or holds another kind of key.
    """
    require_cryptography()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(_as_bytes(pem))
    except ValueError as err:
        raise ConfigError(f"not a PEM public key: {err}") from err
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"expected an Ed25519 public key, got {type(key).__name__}")
    return key


@functools.lru_cache(maxsize=32)
def load_rsa_public_key(pem: str | bytes) -> RSAPublicKey:
    """Load a PEM ``PUBLIC KEY`` that must be RSA.

    Raises:
        ConfigError: the PEM is unreadable or holds another kind of key.
    """
    require_cryptography()
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(_as_bytes(pem))
    except ValueError as err:
        raise ConfigError(f"not a PEM public key: {err}") from err
    if not isinstance(key, RSAPublicKey):
        raise ConfigError(f"expected an RSA public key, got {type(key).__name__}")
    return key


def _decode_signature(header: str, value: str) -> bytes:
    value = value.strip()
    if not value:
        raise SignatureError(f"{header} is empty")
    if len(value) > _MAX_SIGNATURE_CHARS:
        raise SignatureError(f"{header} is too long to be a signature")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise SignatureError(f"{header} is not valid base64") from err


def verify_ed25519(keys: Sequence[Ed25519PublicKey], body: bytes, signature: str) -> None:
    """Check a base64 Ed25519 signature of ``body`` against any of ``keys``.

    Raises:
        SignatureError: malformed, or made by none of the keys.
    """
    from cryptography.exceptions import InvalidSignature

    raw = _decode_signature(ED25519_HEADER, signature)
    if len(raw) != _ED25519_SIGNATURE_BYTES:
        raise SignatureError(f"{ED25519_HEADER} is {len(raw)} bytes, an Ed25519 signature is 64")
    for key in keys:
        try:
            key.verify(raw, body)
        except InvalidSignature:
            continue
        return
    raise SignatureError(f"{ED25519_HEADER} does not match the body")


def verify_rsa(keys: Sequence[RSAPublicKey], body: bytes, signature: str) -> None:
    """Check a base64 RSA PKCS#1 v1.5 SHA-256 signature of ``body`` against any of ``keys``.

    Raises:
        SignatureError: malformed, or made by none of the keys.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    raw = _decode_signature(RSA_HEADER, signature)
    for key in keys:
        # A signature of another length cannot verify; checking first keeps the message precise.
        if len(raw) != (key.key_size + 7) // 8:
            continue
        try:
            key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return
    raise SignatureError(f"{RSA_HEADER} does not match the body")


@functools.lru_cache(maxsize=32)
def _ed25519_private(pem: str) -> Ed25519PrivateKey:
    require_cryptography()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"expected an Ed25519 private key, got {type(key).__name__}")
    return key


@functools.lru_cache(maxsize=32)
def _rsa_private(pem: str) -> RSAPrivateKey:
    require_cryptography()
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError(f"expected an RSA private key, got {type(key).__name__}")
    return key


def sign_ed25519(body: bytes, private_key_pem: str) -> str:
    """Sign ``body`` as HighLevel does for ``x-ghl-signature``; return the base64 signature."""
    return base64.b64encode(_ed25519_private(private_key_pem).sign(body)).decode("ascii")


def sign_rsa(body: bytes, private_key_pem: str) -> str:
    """Sign ``body`` as HighLevel does for the legacy ``x-wh-signature``; return base64."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _rsa_private(private_key_pem)
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


@dataclass(frozen=True)
class KeyPair:
    """A signing key pair, both halves PEM (PKCS#8 private, SubjectPublicKeyInfo public)."""

    algorithm: Algorithm
    public_key_pem: str
    private_key_pem: str = field(repr=False)

    @property
    def header(self) -> str:
        """The request header HighLevel puts this algorithm's signature in."""
        return ED25519_HEADER if self.algorithm == "ed25519" else RSA_HEADER

    def sign(self, body: bytes) -> str:
        """Return the base64 signature of ``body``."""
        if self.algorithm == "ed25519":
            return sign_ed25519(body, self.private_key_pem)
        return sign_rsa(body, self.private_key_pem)

    def headers(self, body: bytes) -> dict[str, str]:
        """Return ``{header: signature}`` for a request carrying ``body``."""
        return {self.header: self.sign(body)}


def _pem_pair(private: Ed25519PrivateKey | RSAPrivateKey) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization

    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private_pem, public_pem


def generate_ed25519_keys() -> KeyPair:
    """Make a fresh Ed25519 pair, e.g. to stand in for HighLevel's key in tests."""
    require_cryptography()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_pem, public_pem = _pem_pair(Ed25519PrivateKey.generate())
    return KeyPair("ed25519", public_pem, private_pem)


def generate_rsa_keys(bits: int = 2048) -> KeyPair:
    """Make a fresh RSA pair. HighLevel's is 4096 bits; 2048 keeps tests fast."""
    require_cryptography()
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_pem, public_pem = _pem_pair(rsa.generate_private_key(65537, bits))
    return KeyPair("rsa", public_pem, private_pem)


@dataclass(frozen=True)
class TestingKeys:
    """One Ed25519 and one RSA pair for tests, made once per process."""

    __test__ = False  # not a pytest test class despite the name

    ed25519: KeyPair
    rsa: KeyPair


@functools.lru_cache(maxsize=1)
def testing_keys() -> TestingKeys:
    """Return this process's test key pairs (generated on first call, then reused)."""
    return TestingKeys(ed25519=generate_ed25519_keys(), rsa=generate_rsa_keys())


# Its name starts with "test", so pytest would collect it from any test module importing it.
testing_keys.__test__ = False  # type: ignore[attr-defined]  # pytest's opt-out marker
