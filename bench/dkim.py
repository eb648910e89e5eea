"""The cost of DKIM per message: signing the ~100 KB newsletter message of ``bench.assemble`` with
``signing.sign`` (dkimpy, relaxed/relaxed, rsa-sha256, the ten headers Beitrag signs) on one core, with a
2048- and a 1024-bit key. Baseline in the same run: assembling the same message without a signature.
Informational: the RSA step alone done by OpenSSL (``cryptography``), to show how much of dkimpy's time is
its own pure-Python RSA.

    python -m bench.dkim [--quick]
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench import common
from bench.assemble import _issue, _slots
from newsletter.mail import mime, signing
from newsletter.mail.rendering import SLOTS

PKCS1, SHA256 = padding.PKCS1v15(), hashes.SHA256()


def _key(bits: int) -> tuple[rsa.RSAPrivateKey, signing.DKIMKey]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, signing.load_key(pem.decode(), "bench", "ki-kompass.example")


def _rate(count: int, make) -> float:
    started = time.perf_counter()
    for i in range(count):
        make(i)
    return count / (time.perf_counter() - started)


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    count = 20 if args.quick else 100
    skeleton = mime.build_skeleton(
        _issue(), sender_name="KI-Kompass", sender_address="redaktion@ki-kompass.example",
        list_id="KI-News täglich <ki-news.ki-kompass.example>", feedback_id="7:ki-news:beitrag",
        slot_tokens=SLOTS,
    )  # fmt: skip
    slots = _slots()
    messages = [skeleton.assemble(slots(f"leser{i}@example.org", i, 1, i)) for i in range(count)]
    size = len(messages[0])
    print(f"dkim: {count:,} messages of {size / 1024:.1f} KB, one core")
    unsigned = _rate(count * 20, lambda i: skeleton.assemble(slots(f"leser{i}@example.org", i, 1, i)))
    result = {}
    for bits in (2048, 1024):
        private, key = _key(bits)
        rate = _rate(count, lambda i, key=key: signing.sign(messages[i], key))
        openssl = _rate(count, lambda i, p=private: p.sign(messages[i][:200], PKCS1, SHA256))
        result[bits] = (rate, openssl)
        print(f"signing.sign, {bits}-bit key: {rate:,.0f} messages/s  ({1000 / rate:.2f} ms per message)")
        print(f"  RSA step alone in OpenSSL: {openssl:,.0f}/s ({1000 / openssl:.2f} ms)")
    print(f"unsigned assembly (baseline): {unsigned:,.0f} messages/s ({1000 / unsigned:.3f} ms per message)")
    rate_2048 = result[2048][0]
    common.emit(
        {
            "bench": "dkim", "size": {"messages": count, "message_kb": round(size / 1024, 1)},
            "signed_per_s_2048": round(rate_2048), "ms_per_message_2048": round(1000 / rate_2048, 3),
            "signed_per_s_1024": round(result[1024][0]), "openssl_rsa_per_s_2048": round(result[2048][1]),
            "baseline_unsigned_per_s": round(unsigned), "ratio": round(rate_2048 / unsigned, 4),
            "goal": {"note": "no goal set; cost recorded for the send benchmark"},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
