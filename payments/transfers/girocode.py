"""The GiroCode (EPC QR code, EPC069-12 version 002): a banking app scans it and fills in the transfer.
The payload is written here and drawn by ``segno`` in the process; nothing leaves the machine. (segno's own
``make_epc_qr`` insists on an amount; the standard lets the donor type it.)"""

from __future__ import annotations

import io

import segno

MAX_CENTS = 99_999_999_999  # EUR 999,999,999.99, the standard's largest amount


def payload(*, name: str, iban: str, bic: str | None, reference: str, amount_cents: int | None) -> str:
    """The EPC text: service tag, version, character set 1 (UTF-8), SEPA credit transfer, BIC (optional
    within the EEA), recipient (at most 70 characters), IBAN, amount (``EUR12.50``, or empty to be typed),
    no purpose code, no structured reference, the reference as the unstructured remittance text."""
    amount = ""
    if amount_cents is not None and 0 < amount_cents <= MAX_CENTS:
        amount = f"EUR{amount_cents // 100}.{amount_cents % 100:02d}"
    name = " ".join(name.split())[:70]
    lines = ["BCD", "002", "1", "SCT", (bic or "").strip(), name, iban, amount, "", "", reference[:140]]
    return "\n".join(lines)


def make(*, name: str, iban: str, bic: str | None, reference: str, amount_cents: int | None):
    text = payload(name=name, iban=iban, bic=bic, reference=reference, amount_cents=amount_cents)
    return segno.make_qr(text, error="m", encoding="utf-8", boost_error=False)


def svg(code) -> bytes:
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=4, title="GiroCode")
    return out.getvalue()


def png(code) -> bytes:
    out = io.BytesIO()
    code.save(out, kind="png", scale=8, border=4)
    return out.getvalue()
