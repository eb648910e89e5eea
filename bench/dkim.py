"""The cost of DKIM per message: the ~107 KB newsletter message of ``bench.assemble`` assembled and signed
on one core (relaxed/relaxed, rsa-sha256, 2048-bit key, the oversigned ``h=`` list) by the send path's
skeleton signer (``Skeleton.assemble_signed``, ``mail.dkim_fast``). Baseline in the same run, in
alternating slices: the same messages assembled and signed by dkimpy (``signing.sign``), the way every
message was signed before. Also printed: the same with a 1024-bit key, with an Ed25519 signature beside
the RSA one, unsigned assembly, and the RSA step alone in OpenSSL, the floor of any 2048-bit signer.
Every tenth fast signature is checked with dkimpy's verifier on the way.

    python -m bench.dkim [--quick]
"""

from __future__ import annotations

import os
import time

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench import common
from bench.assemble import _issue, _slots
from newsletter.mail import mime, signing
from newsletter.mail.rendering import SLOTS

PKCS1, SHA256 = padding.PKCS1v15(), hashes.SHA256()
GOAL_RATE = 2_000
GOAL_RATIO = 20
SLICES = 5


def _key(bits: int) -> tuple[rsa.RSAPrivateKey, signing.DKIMKey]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, signing.load_key(pem.decode(), "bench", "ki-kompass.example")


def _rate(count: int, make) -> tuple[float, float]:
    """Messages a second by the wall clock and by this process's CPU time."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        make(i)
    return count / (time.perf_counter() - started), count / max(time.process_time() - cpu, 1e-9)


def _verifies(raw: bytes, key: signing.DKIMKey) -> bool:
    record = key.public_record().encode("ascii")
    return dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    count = 20 if args.quick else 100  # dkimpy's share; the fast signer does 20 times as many
    skeleton = mime.build_skeleton(
        _issue(), sender_name="KI-Kompass", sender_address="redaktion@ki-kompass.example",
        list_id="KI-News täglich <ki-news.ki-kompass.example>", feedback_id="7:ki-news:beitrag",
        slot_tokens=SLOTS,
    )  # fmt: skip
    slots = _slots()
    values = [slots(f"leser{i}@example.org", i, 1, i) for i in range(count * 20)]
    messages = [skeleton.assemble(values[i]) for i in range(count)]
    size = len(messages[0])
    print(f"dkim: {size / 1024:.1f} KB messages, one core; load average {os.getloadavg()[0]:.2f}")
    unsigned, _ = _rate(len(values), lambda i: skeleton.assemble(values[i]))
    figures = {}
    for bits in (2048, 1024):
        private, key = _key(bits)
        skeleton.assemble_signed(values[0], key)  # the signer is prepared once per skeleton and key
        for i in range(0, len(values), 10):
            if not _verifies(skeleton.assemble_signed(values[i], key), key):
                raise SystemExit(f"a fast signature ({bits}-bit key) does not verify with dkimpy")
        # Alternate the two in slices, so that neither runs alone in a quiet (or busy) moment of the machine.
        totals = {"fast": [0, 0.0, 0.0], "dkimpy": [0, 0.0, 0.0]}  # messages, seconds, CPU seconds
        for part in range(SLICES):
            ours, theirs = len(values) // SLICES, count // SLICES

            def signed(i, key=key, start=ours * part):
                return skeleton.assemble_signed(values[start + i], key)

            def dkimpy(i, key=key, start=theirs * part):
                return signing.sign(skeleton.assemble(values[start + i]), key)

            for side, make, n in (("fast", signed, ours), ("dkimpy", dkimpy, theirs)):
                wall, cpu = _rate(n, make)
                totals[side][0] += n
                totals[side][1] += n / wall
                totals[side][2] += n / cpu
        openssl, _ = _rate(count * 5, lambda i, p=private: p.sign(messages[i % count][:200], PKCS1, SHA256))
        figures[bits] = {"openssl": openssl}
        for side, (n, seconds, cpu_seconds) in totals.items():
            figures[bits][side], figures[bits][f"{side}_cpu"] = n / seconds, n / cpu_seconds
        f = figures[bits]
        print(f"{bits}-bit key: skeleton signer {f['fast']:,.0f} messages/s ({1000 / f['fast']:.3f} ms; "
              f"CPU time {f['fast_cpu']:,.0f}/s), dkimpy {f['dkimpy']:,.0f} messages/s "
              f"({1000 / f['dkimpy']:.2f} ms; CPU time {f['dkimpy_cpu']:,.0f}/s): "
              f"{f['fast'] / f['dkimpy']:.1f}x")  # fmt: skip
        print(f"  RSA step alone in OpenSSL: {openssl:,.0f}/s ({1000 / openssl:.3f} ms)")
    # RSA and Ed25519 (RFC 8463) both, as DKIM_ED25519_KEY makes it: what the second signature costs.
    from cryptography.hazmat.primitives.asymmetric import ed25519

    seed = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    rsa_key = _key(2048)[1]
    both = signing.DKIMKey(rsa_key.selector, rsa_key.domain, rsa_key.private_key,
                           signing.Ed25519Key("bench-ed", seed))  # fmt: skip
    skeleton.assemble_signed(values[0], both)
    pair = {"both": [0.0, 0.0], "rsa": [0.0, 0.0]}  # seconds, CPU seconds; in alternating slices
    share = len(values) // 2 // SLICES
    for _part in range(SLICES):
        for side, signing_key in (("both", both), ("rsa", rsa_key)):
            wall, cpu = _rate(share, lambda i, k=signing_key: skeleton.assemble_signed(values[i], k))
            pair[side][0] += share / wall
            pair[side][1] += share / cpu
    n = share * SLICES
    with_ed25519, alone = n / pair["both"][0], n / pair["rsa"][0]
    print(f"RSA and Ed25519 signatures: {with_ed25519:,.0f} messages/s "
          f"(CPU time {n / pair['both'][1]:,.0f}/s), RSA alone {alone:,.0f}/s "
          f"(CPU time {n / pair['rsa'][1]:,.0f}/s), same run")  # fmt: skip
    print(f"unsigned assembly: {unsigned:,.0f} messages/s ({1000 / unsigned:.4f} ms per message)")
    main_figures = figures[2048]
    ratio = main_figures["fast"] / main_figures["dkimpy"]
    met = main_figures["fast"] >= GOAL_RATE and ratio >= GOAL_RATIO
    print(f"goal >= {GOAL_RATE:,}/s and >= {GOAL_RATIO}x dkimpy (2048-bit, wall clock): "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    common.emit(
        {
            "bench": "dkim", "size": {"messages": len(values), "dkimpy_messages": count,
                                      "message_kb": round(size / 1024, 1), "key_bits": 2048},
            "messages_per_s": round(main_figures["fast"]),
            "ms_per_message": round(1000 / main_figures["fast"], 3),
            "messages_per_cpu_s": round(main_figures["fast_cpu"]),
            "dkimpy_messages_per_s": round(main_figures["dkimpy"]),
            "baseline_messages_per_s": round(main_figures["dkimpy"]),
            "ratio": round(ratio, 1),
            "cpu_ratio": round(main_figures["fast_cpu"] / main_figures["dkimpy_cpu"], 1),
            "messages_per_s_1024": round(figures[1024]["fast"]),
            "dkimpy_messages_per_s_1024": round(figures[1024]["dkimpy"]),
            "openssl_rsa_per_s_2048": round(main_figures["openssl"]),
            "unsigned_assembly_per_s": round(unsigned),
            "rsa_and_ed25519_messages_per_s": round(with_ed25519), "rsa_alone_messages_per_s": round(alone),
            "load_average": round(os.getloadavg()[0], 2),
            "goal": {"messages_per_s": GOAL_RATE, "ratio": GOAL_RATIO, "met": met},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
