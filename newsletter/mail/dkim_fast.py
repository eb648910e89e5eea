"""DKIM for skeleton messages at the send rate: relaxed/relaxed, rsa-sha256 (and ed25519-sha256 beside it
when the key has one, RFC 8463), the same signatures as ``signing.sign`` makes with dkimpy (the same
``h=`` list, oversigned), in a small part of its time.

What makes it fast is what a skeleton already knows (``mime.Skeleton``): the header and the
quoted-printable body are fixed except for the slots, and every body slot stands on a line of its own
(``value=`` and a soft line break). RFC 6376's relaxed canonicalisation works line by line, so the fixed
stretches between slots are canonicalised once per skeleton, and the body hash is a SHA-256 state fed
with everything before the first body slot once; per recipient that state is copied and fed the slot
values and the canonical stretches after them. The fixed header fields are canonicalised once; the four
with a slot (To, Date, Message-ID, List-Unsubscribe) per recipient. The RSA step is OpenSSL's, through
``cryptography``, with the key parsed once. dkimpy stays the verifier: the tests check every signature
this module makes with ``dkim.verify``.

A skeleton whose shape breaks those assumptions (a slot in the middle of a body line, a slot at the start
of a header line) is signed by dkimpy instead (:class:`_Dkimpy`), slower but never wrong.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from newsletter.mail import signing

_WSP_RUN = re.compile(rb"[\t ]+")
_TRAILING_WSP = re.compile(rb"[\t ]+\r\n")
_LINE_BREAK = re.compile(rb"\r?\n")
_PKCS1, _SHA256 = padding.PKCS1v15(), hashes.SHA256()
_LINE = 76  # fold the signature header's lines below 78 characters, like the rest of the header


class Unsupported(ValueError):
    """The skeleton's shape does not allow signing it piece by piece."""


def canonical_header(field: bytes) -> bytes:
    """One header field (name, colon, value, continuation lines, CRLF) in relaxed form (RFC 6376 3.4.2):
    the name in lower case, the value unfolded, runs of spaces and tabs made one space, stripped."""
    name, _, value = field.partition(b":")
    return name.lower().rstrip() + b":" + _WSP_RUN.sub(b" ", _LINE_BREAK.sub(b"", value)).strip() + b"\r\n"


def canonical_lines(data: bytes) -> bytes:
    """Whole body lines in relaxed form (RFC 6376 3.4.4): no spaces or tabs at a line's end, runs of
    them made one space."""
    return _WSP_RUN.sub(b" ", _TRAILING_WSP.sub(b"\r\n", data))


def canonical_end(data: bytes) -> bytes:
    """The end of a canonical body: empty lines at the end dropped, a missing last CRLF added, and an
    empty body hashed as nothing (as dkimpy does)."""
    end = len(data)
    while data.endswith(b"\r\n", 0, end):
        end -= 2
    data = data + b"\r\n" if end == len(data) else data[: end + 2]
    return b"" if data == b"\r\n" else data


@lru_cache(maxsize=8)
def _ed25519_key(seed: bytes) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


@lru_cache(maxsize=8)
def _rsa_key(pem: bytes) -> rsa.RSAPrivateKey:
    # OpenSSL's full check of an RSA key (its primes among them) takes about 90 ms, and a worker loads the
    # key again in every work horse it forks, once per batch of 500 messages. ``signing.load_key`` made
    # that check once when the app started, and every ``DKIMKey`` comes from there.
    key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Unsupported("not an RSA key")
    return key


def _fold(items: list[bytes], separator: bytes, first_width: int) -> bytes:
    """``items`` joined by ``separator``, a line break and a space wherever the line would pass 76."""
    lines, width = [], first_width
    line = b""
    for index, item in enumerate(items):
        piece = item + (separator if index < len(items) - 1 else b"")
        if line and width + len(line) + len(piece) > _LINE:
            lines.append(line)
            line, width = b"", 1
        line += piece
    lines.append(line)
    return b"\r\n ".join(lines)


class Skeleton(Protocol):
    """What a signer reads of a skeleton (``mime.Skeleton``, which hands itself over): its parts (bytes,
    and the slots between them), and one recipient's pieces and message."""

    parts: tuple[bytes | tuple[str, str], ...]

    def pieces(self, values: Mapping[str, str]) -> list[bytes]: ...

    def assemble(self, values: Mapping[str, str]) -> bytes: ...


class SkeletonSigner:
    """Signs the messages of one skeleton with one key. Made once (``Skeleton.assemble_signed`` keeps
    it); :meth:`sign` per recipient."""

    def __init__(self, skeleton: Skeleton, key: signing.DKIMKey):
        self.skeleton = skeleton
        self._key = _rsa_key(key.private_key)
        parts = skeleton.parts
        split = next(
            (i for i, part in enumerate(parts) if isinstance(part, bytes) and b"\r\n\r\n" in part), None
        )
        if split is None:
            raise Unsupported("no end of the header in a fixed part")
        at = parts[split].index(b"\r\n\r\n")
        header: list[bytes | int] = [p if isinstance(p, bytes) else i for i, p in enumerate(parts[:split])]
        header.append(parts[split][: at + 2])
        body: list[bytes | int] = [parts[split][at + 4 :]]
        body += [p if isinstance(p, bytes) else split + 1 + i for i, p in enumerate(parts[split + 1 :])]
        self._prepare_header(header, key)
        self._prepare_body(body)

    # -- header ------------------------------------------------------------------------------------------

    def _prepare_header(self, items: list[bytes | int], key: signing.DKIMKey) -> None:
        fields: list[list[bytes | int]] = []
        line_start = True
        for item in items:
            if isinstance(item, int):
                if line_start or not fields:
                    raise Unsupported("a header slot starts a line")
                fields[-1].append(item)
                continue
            for number, segment in enumerate(item.split(b"\r\n")):
                if number:
                    if not fields:
                        raise Unsupported("the header starts with an empty line")
                    fields[-1].append(b"\r\n")
                    line_start = True
                if not segment:
                    continue
                if line_start and segment[:1] not in (b" ", b"\t"):
                    fields.append([segment])
                elif fields:
                    fields[-1].append(segment)
                else:
                    raise Unsupported("the header starts with a continuation line")
                line_start = False
        names = []
        for field in fields:
            first = field[0]
            if not isinstance(first, bytes) or b":" not in first:
                raise Unsupported("a header field name is not fixed")
            names.append(first.split(b":", 1)[0].strip())
        listed = signing.oversigned(names)
        # RFC 6376 5.4.2: each listed name takes the last field of that name not taken yet.
        chosen, last = [], {}
        lower = [name.lower() for name in names]
        for name in (n.lower() for n in listed):
            index = last.get(name, len(fields))
            while index > 0:
                index -= 1
                if lower[index] == name:
                    chosen.append(index)
                    break
            last[name] = index
        plan: list[bytes | tuple[bytes | int, ...]] = []  # fixed bytes, (slot, "name:"), or a whole field
        for index in chosen:
            field = fields[index]
            if all(isinstance(ref, bytes) for ref in field):
                canonical = canonical_header(b"".join(field))  # type: ignore[arg-type]
                if plan and isinstance(plan[-1], bytes):
                    plan[-1] += canonical
                else:
                    plan.append(canonical)
            elif (
                len(field) == 3 and isinstance(field[1], int) and field[2] == b"\r\n"
                and not field[0].partition(b":")[2].strip(b" \t")  # type: ignore[union-attr]
            ):  # fmt: skip
                # "Name: <slot>\r\n", as every header slot of a skeleton stands: the canonical name once.
                plan.append((field[1], field[0].partition(b":")[0].lower().rstrip() + b":"))  # type: ignore[union-attr]
            else:
                plan.append(tuple(field))
        self._header_plan = tuple(plan)
        h = _fold([name.lower() for name in listed], b":", len(b" h="))

        def prefix(algorithm: bytes, selector: str) -> tuple[bytes, bytes]:
            header = (
                b"DKIM-Signature: v=1; a=" + algorithm + b"; c=relaxed/relaxed; d="
                + key.domain.encode("ascii") + b"; s=" + selector.encode("ascii") + b";\r\n h=" + h + b";\r\n"
            )  # fmt: skip
            # The signature header as it is signed: relaxed, b= empty, no CRLF; the prefix ends in ";" and
            # the rest (" t=...; bh=...; b=") has single spaces, so prefix and rest are canonical apart.
            return header, canonical_header(header)[:-2]

        self._signature_prefix, self._signed_prefix = prefix(b"rsa-sha256", key.selector)
        # RFC 8463: the Ed25519 signature is over the SHA-256 digest of the same header data, with the
        # same h= list and body hash, under the second key's own selector.
        self._ed25519: tuple[bytes, bytes, ed25519.Ed25519PrivateKey] | None = None
        if key.ed25519 is not None:
            self._ed25519 = (*prefix(b"ed25519-sha256", key.ed25519.selector), _ed25519_key(key.ed25519.seed))

    def _header_data(self, pieces: list[bytes]) -> bytes:
        out = []
        for step in self._header_plan:
            if isinstance(step, bytes):
                out.append(step)
            elif isinstance(step[0], int):  # one slot value, the whole value of its field (no CR or LF)
                value = pieces[step[0]]
                if b"\t" in value or b"  " in value:
                    value = _WSP_RUN.sub(b" ", value)
                out += (step[1], value.strip(), b"\r\n")
            else:
                out.append(canonical_header(b"".join(r if isinstance(r, bytes) else pieces[r] for r in step)))
        return b"".join(out)

    # -- body --------------------------------------------------------------------------------------------

    def _prepare_body(self, items: list[bytes | int]) -> None:
        slots = [n for n, item in enumerate(items) if isinstance(item, int)]
        base = hashlib.sha256()
        if not slots:
            base.update(canonical_end(canonical_lines(b"".join(items))))  # type: ignore[arg-type]
            self._body_digest: bytes | None = base.digest()
            self._body_base, self._body_plan = base, ()
            return
        for n in slots:
            before = items[n - 1] if n else b""
            after = items[n + 1] if n + 1 < len(items) else None
            # A slot line: the value, then the fixed rest of the line ("=" of the soft break). The value
            # has no line break (``assemble`` refuses one), and its line is never the last or empty.
            if not isinstance(before, bytes) or (before and not before.endswith(b"\r\n")) or n == 0:
                raise Unsupported("a body slot does not start a line")
            if not isinstance(after, bytes) or after[:1] in (b"", b" ", b"\t", b"\r", b"\n"):
                raise Unsupported("a body slot is not followed by the fixed rest of its line")
        base.update(canonical_lines(b"".join(items[: slots[0]])))  # type: ignore[arg-type]
        plan: list[bytes | int] = []
        for n in range(slots[0], len(items)):
            item = items[n]
            if isinstance(item, int):
                plan.append(item)
            elif n == len(items) - 1:
                plan.append(canonical_end(canonical_lines(item)))
            else:
                plan.append(canonical_lines(item))
        self._body_digest = None
        self._body_base, self._body_plan = base, tuple(plan)

    def _body_hash(self, pieces: list[bytes]) -> bytes:
        if self._body_digest is not None:
            return self._body_digest
        state = self._body_base.copy()
        update = state.update
        for step in self._body_plan:
            if isinstance(step, bytes):
                update(step)
            else:
                value = pieces[step]
                update(_WSP_RUN.sub(b" ", value) if b" " in value or b"\t" in value else value)
        return state.digest()

    # -- per recipient -----------------------------------------------------------------------------------

    def sign(self, values: Mapping[str, str], timestamp: int | None = None) -> bytes:
        """The recipient's message (``Skeleton.assemble``) with its ``DKIM-Signature`` header in front
        (two with an Ed25519 key: RSA, then Ed25519, as ``signing.sign`` puts them)."""
        pieces = self.skeleton.pieces(values)
        tags = b" t=%d; bh=%s;" % (
            int(time.time()) if timestamp is None else timestamp,
            base64.b64encode(self._body_hash(pieces)),
        )
        header = self._header_data(pieces)
        b = base64.b64encode(self._key.sign(header + self._signed_prefix + tags + b" b=", _PKCS1, _SHA256))
        head = self._signature_prefix + tags + b"\r\n b=" + _fold_b(b)
        if self._ed25519 is not None:
            prefix, signed_prefix, ed_key = self._ed25519
            digest = hashlib.sha256(header + signed_prefix + tags + b" b=").digest()
            head += prefix + tags + b"\r\n b=" + _fold_b(base64.b64encode(ed_key.sign(digest)))
        pieces[0] = head + pieces[0]
        return b"".join(pieces)


def _fold_b(b: bytes) -> bytes:
    """The b= value in lines of 72, and the CRLF that ends the field."""
    return b"\r\n ".join(b[i : i + 72] for i in range(0, len(b), 72)) + b"\r\n"


class _Dkimpy:
    """The careful way for a skeleton :class:`SkeletonSigner` cannot take: assemble, then dkimpy."""

    def __init__(self, skeleton: Skeleton, key: signing.DKIMKey):
        self.skeleton, self.key = skeleton, key

    def sign(self, values: Mapping[str, str], timestamp: int | None = None) -> bytes:
        return signing.sign(self.skeleton.assemble(values), self.key)


def skeleton_signer(skeleton: Skeleton, key: signing.DKIMKey) -> SkeletonSigner | _Dkimpy:
    """The signer for ``skeleton``'s messages under ``key``: the fast one whenever the shape allows."""
    try:
        return SkeletonSigner(skeleton, key)
    except Unsupported:
        return _Dkimpy(skeleton, key)
