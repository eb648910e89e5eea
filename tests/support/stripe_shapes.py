"""The shapes of Stripe's objects (API 2026-10-28) for the test world (stripe_world.py).

Each builder's key set is copied from Stripe's own sample of that object (stripe/openapi fixtures3.json)
and checked against the SDK's generated classes, less what the current API removed: invoices have no
``subscription``, ``charge``, ``payment_intent`` or ``paid``; charges and payment intents no ``invoice``;
subscriptions no ``current_period_*`` (they are on the items). The values are what a test-mode account in
Germany would show. The builders only fill in shapes: what happens to the objects is the world's business.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

NO_ADDRESS = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}

def list_object(data: list[dict], url: str, has_more: bool = False) -> dict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def product(product_id: str, now: int, name: str, metadata: dict, *, active: bool = True,
             description: str | None = None) -> dict:  # fmt: skip
    return {
        "active": active, "created": now, "default_price": None, "description": description, "id": product_id,
        "images": [], "livemode": False, "marketing_features": [], "metadata": metadata, "name": name,
        "object": "product", "package_dimensions": None, "shippable": None, "statement_descriptor": None,
        "tax_code": None, "unit_label": None, "updated": now, "url": None, "type": "service",
    }  # fmt: skip


def price(price_id: str, now: int, product: str, currency: str, unit_amount: int,
           recurring: tuple[str, int] | None, *, lookup_key: str | None = None, nickname: str | None = None,
           metadata: dict | None = None, active: bool = True) -> dict:  # fmt: skip
    return {
        "active": active, "billing_scheme": "per_unit", "created": now, "currency": currency,
        "custom_unit_amount": None, "id": price_id, "livemode": False, "lookup_key": lookup_key,
        "metadata": metadata or {}, "nickname": nickname, "object": "price", "product": product,
        "recurring": recurring and {"interval": recurring[0], "interval_count": recurring[1], "meter": None,
                                    "usage_type": "licensed", "trial_period_days": None},
        "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
        "type": "recurring" if recurring else "one_time", "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }  # fmt: skip


def plan(price: dict) -> dict:
    """The legacy ``plan`` that still rides along on subscription items, mirroring the price."""
    recurring = price["recurring"]
    return {
        "active": price["active"], "amount": price["unit_amount"],
        "amount_decimal": str(price["unit_amount"]),
        "billing_scheme": "per_unit", "created": price["created"], "currency": price["currency"],
        "id": price["id"], "interval": recurring["interval"], "interval_count": recurring["interval_count"],
        "livemode": False, "metadata": price["metadata"], "meter": None, "nickname": price["nickname"],
        "object": "plan", "product": price["product"], "tiers_mode": None, "transform_usage": None,
        "trial_period_days": None, "usage_type": "licensed",
    }  # fmt: skip


def portal_configuration(configuration_id: str, now: int, features: dict, *, is_default: bool = False,
                          metadata: dict | None = None, name: str | None = None,
                          default_return_url: str | None = None) -> dict:  # fmt: skip
    def enabled(key: str) -> bool:
        return (features.get(key) or {}).get("enabled") in (True, "true")

    update, cancel = features.get("subscription_update") or {}, features.get("subscription_cancel") or {}
    products = [{"adjustable_quantity": {"enabled": False, "maximum": None, "minimum": 1},
                 "prices": list(p.get("prices") or []), "product": p.get("product")}
                for p in update.get("products") or []]  # fmt: skip
    return {
        "active": True, "application": None,
        "business_profile": {"headline": None, "privacy_policy_url": None, "terms_of_service_url": None},
        "created": now, "default_return_url": default_return_url,
        "features": {
            "customer_update": {"allowed_updates": [], "enabled": enabled("customer_update")},
            "invoice_history": {"enabled": enabled("invoice_history")},
            "payment_method_update": {"enabled": enabled("payment_method_update"),
                                      "payment_method_configuration": None},
            "subscription_cancel": {"cancellation_reason": {"enabled": False, "options": []},
                                    "enabled": enabled("subscription_cancel"),
                                    "mode": cancel.get("mode", "at_period_end"),
                                    "proration_behavior": cancel.get("proration_behavior", "none")},
            "subscription_update": {"default_allowed_updates": [*update.get("default_allowed_updates", [])],
                                    "enabled": enabled("subscription_update"), "products": products,
                                    "proration_behavior": update.get("proration_behavior", "none"),
                                    "schedule_at_period_end": {"conditions": []},
                                    "trial_update_behavior": "end_trial", "billing_cycle_anchor": None},
        },
        "id": configuration_id, "is_default": is_default, "livemode": False,
        "login_page": {"enabled": False, "url": None}, "metadata": metadata or {},
        "object": "billing_portal.configuration", "updated": now, "name": name,
    }  # fmt: skip


def checkout_session(session_id: str, now: int, p: dict, mode: str, total: int, currency: str, url: str,
                     metadata: dict) -> dict:  # fmt: skip
    return {
        "adaptive_pricing": {"enabled": False}, "after_expiration": None, "allow_promotion_codes": None,
        "amount_subtotal": total, "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "billing_address_collection": None, "cancel_url": p.get("cancel_url"),
        "client_reference_id": p.get("client_reference_id"), "client_secret": None,
        "collected_information": None,
        "consent": None, "consent_collection": None, "created": now, "currency": currency,
        "currency_conversion": None, "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": p.get("customer"), "customer_account": None,
        "customer_creation": p.get("customer_creation", "if_required") if mode == "payment" else None,
        "customer_details": None, "customer_email": p.get("customer_email"), "discounts": [],
        "expires_at": now + 86400, "id": session_id, "integration_identifier": None, "invoice": None,
        "invoice_creation": {"enabled": False, "invoice_data": {
            "account_tax_ids": None, "custom_fields": None, "description": None, "footer": None,
            "issuer": None,
            "metadata": {}, "rendering_options": None}} if mode == "payment" else None,
        "livemode": False, "locale": p.get("locale"), "managed_payments": None,
        "metadata": metadata, "mode": mode, "object": "checkout.session",
        "origin_context": None, "payment_intent": None, "payment_link": None,
        "payment_method_collection": "always" if mode == "subscription" else None,
        "payment_method_configuration_details": None, "payment_method_options": {"card": {
            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card", "sepa_debit"] if mode == "payment" else ["card"],
        "payment_status": "unpaid", "permissions": None, "phone_number_collection": {"enabled": False},
        "recovered_from": None, "saved_payment_method_options": None, "setup_intent": None,
        "shipping_address_collection": None, "shipping_cost": None, "shipping_options": [], "status": "open",
        "submit_type": p.get("submit_type") if mode == "payment" else None, "subscription": None,
        "success_url": p.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": p.get("ui_mode", "hosted_page"), "url": url, "wallet_options": None,
    }  # fmt: skip


def checkout_item(item_id: str, price: dict, quantity: int, product: dict | None) -> dict:
    amount = price["unit_amount"] * quantity
    return {
        "amount_discount": 0, "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
        "currency": price["currency"], "description": (product or {}).get("name"), "id": item_id,
        "object": "item", "price": copy.deepcopy(price), "quantity": quantity, "metadata": {},
        "adjustable_quantity": None,
    }  # fmt: skip


def payment_intent(intent_id: str, now: int, amount: int, currency: str, customer: str | None,
                    metadata: dict, method: str, description: str | None) -> dict:  # fmt: skip
    kind = "sepa_debit" if method == "sepa" else "card"
    return {
        "amount": amount, "amount_capturable": 0, "amount_details": {"tip": {}}, "amount_received": 0,
        "application": None, "application_fee_amount": None, "automatic_payment_methods": None,
        "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_standin", "confirmation_method": "automatic", "created": now,
        "currency": currency, "customer": customer, "description": description, "id": intent_id,
        "last_payment_error": None, "latest_charge": None, "livemode": False, "metadata": dict(metadata),
        "next_action": None, "object": "payment_intent", "on_behalf_of": None,
        "payment_method": f"pm_{intent_id[3:]}", "payment_method_configuration_details": None,
        "payment_method_options": {kind: {}}, "payment_method_types": [kind], "processing": None,
        "receipt_email": None, "review": None, "setup_future_usage": None, "shipping": None, "source": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None, "status": "requires_confirmation",
        "transfer_data": None, "transfer_group": None, "excluded_payment_method_types": None,
        "customer_account": None, "managed_payments": None,
    }  # fmt: skip


def charge(charge_id: str, now: int, intent: dict, billing: Mapping[str, Any], status: str) -> dict:
    """A charge of a payment intent. Its ``metadata`` stays empty: Stripe does not copy the intent's; its
    ``balance_transaction`` stays empty until it succeeds."""
    if intent["payment_method_types"] == ["sepa_debit"]:
        details = {"sepa_debit": {"bank_code": "37040044", "branch_code": None, "country": "DE",
                                  "expected_debit_date": None, "fingerprint": "standinSEPA0001",
                                  "last4": "3000",
                                  "mandate": f"mandate_{charge_id[3:]}"}, "type": "sepa_debit"}  # fmt: skip
    else:
        details = {"card": {
            "amount_authorized": intent["amount"], "brand": "visa",
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "DE", "exp_month": 12, "exp_year": 2034,
            "extended_authorization": {"status": "disabled"},
            "fingerprint": "standinCARD0001", "funding": "credit",
            "incremental_authorization": {"status": "unavailable"}, "installments": None, "last4": "4242",
            "mandate": None, "multicapture": {"status": "unavailable"}, "network": "visa",
            "network_token": {"used": False}, "overcapture": {"maximum_amount_capturable": intent["amount"],
                                                              "status": "unavailable"},
            "three_d_secure": None, "wallet": None, "authorization_code": "123456",
            "regulated_status": "unregulated",
            "network_transaction_id": "standin0001", "transaction_link_id": None,
        }, "type": "card"}  # fmt: skip
    return {
        "amount": intent["amount"], "amount_captured": 0, "amount_refunded": 0, "application": None,
        "application_fee": None, "application_fee_amount": None, "balance_transaction": None,
        "billing_details": {"address": {**NO_ADDRESS, "country": "DE"}, "email": billing.get("email"),
                            "name": billing.get("name"), "phone": None, "tax_id": None},
        "calculated_statement_descriptor": "BEITRAG", "captured": False, "created": now,
        "currency": intent["currency"], "customer": intent["customer"], "description": intent["description"],
        "disputed": False, "failure_balance_transaction": None, "failure_code": None, "failure_message": None,
        "fraud_details": {}, "id": charge_id, "livemode": False, "metadata": {}, "object": "charge",
        "on_behalf_of": None,
        "outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                    "network_status": None, "reason": None, "seller_message": None, "type": "authorized"},
        "paid": False, "payment_intent": intent["id"], "payment_method": intent["payment_method"],
        "payment_method_details": details, "receipt_email": None, "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}", "refunded": False,
        "refunds": list_object([], f"/v1/charges/{charge_id}/refunds"), "review": None, "shipping": None,
        "source_transfer": None, "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": status, "transfer_data": None, "transfer_group": None, "source": None,
    }  # fmt: skip


def subscription_item(item_id: str, now: int, subscription_id: str, price: dict, quantity: int) -> dict:
    return {
        "billing_thresholds": None, "created": now, "current_period_end": now, "current_period_start": now,
        "discounts": [], "id": item_id, "metadata": {}, "object": "subscription_item", "plan": plan(price),
        "price": copy.deepcopy(price), "quantity": quantity, "subscription": subscription_id, "tax_rates": [],
    }  # fmt: skip


def subscription(subscription_id: str, now: int, customer: str, currency: str, items: list[dict],
                  metadata: dict) -> dict:  # fmt: skip
    return {
        "application": None, "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": now, "billing_cycle_anchor_config": None, "cancel_at": None,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": now, "currency": currency,
        "customer": customer,
        "days_until_due": None, "default_payment_method": None, "default_source": None,
        "default_tax_rates": [],
        "description": None, "discounts": [], "ended_at": None, "id": subscription_id,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(items, f"/v1/subscription_items?subscription={subscription_id}"),
        "latest_invoice": None, "livemode": False, "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None, "object": "subscription", "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None,
        "schedule": None, "start_date": now, "status": "incomplete", "test_clock": None,
        "transfer_data": None,
        "trial_end": None, "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None, "cancel_at_period_end": False, "billing_thresholds": None,
        "billing_mode": {"type": "classic", "flexible": None, "updated_at": None}, "customer_account": None,
        "managed_payments": None, "billing_schedules": [],
    }  # fmt: skip


def invoice_line(line_id: str, invoice_id: str, subscription: dict, item: dict) -> dict:
    price = item["price"]
    amount = price["unit_amount"] * item["quantity"]
    return {
        "amount": amount, "currency": price["currency"],
        "description": f"{item['quantity']} × {price['nickname'] or price['product']}",
        "discount_amounts": [],
        "discountable": True, "discounts": [], "id": line_id, "invoice": invoice_id, "livemode": False,
        "metadata": dict(subscription["metadata"]), "object": "line_item",
        "period": {"end": item["current_period_end"], "start": item["current_period_start"]},
        "quantity": item["quantity"], "subscription": subscription["id"], "pretax_credit_amounts": [],
        "taxes": [],
        "parent": {"invoice_item_details": None, "subscription_item_details": {
            "invoice_item": None, "proration": False, "proration_details": {"credited_items": None},
            "subscription": subscription["id"], "subscription_item": item["id"]},
            "type": "subscription_item_details"},
        "pricing": {"type": "price_details",
                    "price_details": {"price": price["id"], "product": price["product"]},
                    "unit_amount_decimal": str(price["unit_amount"])},
        "subtotal": amount, "quantity_decimal": str(item["quantity"]),
    }  # fmt: skip


def invoice(invoice_id: str, now: int, subscription: dict, reason: str, lines: list[dict],
             period: tuple[int, int], customer: Mapping[str, Any], account_name: str) -> dict:  # fmt: skip
    """A subscription's draft invoice: the subscription only under ``parent.subscription_details`` (with
    a snapshot of its metadata); no ``subscription``, ``charge``, ``payment_intent`` or ``paid``."""
    amount = sum(line["amount"] for line in lines)
    return {
        "account_country": "DE", "account_name": account_name, "account_tax_ids": None, "amount_due": amount,
        "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": amount, "amount_shipping": 0,
        "application": None, "attempt_count": 0, "attempted": False, "auto_advance": True,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "disabled_reason": None,
                          "provider": None},
        "billing_reason": reason, "collection_method": "charge_automatically", "created": now,
        "currency": subscription["currency"], "custom_fields": None, "customer": subscription["customer"],
        "customer_address": None, "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": None, "customer_shipping": None, "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None, "default_source": None, "default_tax_rates": [], "description": None,
        "discounts": [], "due_date": None, "effective_at": None, "ending_balance": None, "footer": None,
        "from_invoice": None, "hosted_invoice_url": None, "id": invoice_id, "invoice_pdf": None,
        "issuer": {"type": "self"}, "last_finalization_error": None, "latest_revision": None,
        "lines": list_object(lines, f"/v1/invoices/{invoice_id}/lines"), "livemode": False, "metadata": {},
        "next_payment_attempt": None, "number": None, "object": "invoice", "on_behalf_of": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": period[1], "period_start": period[0], "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "receipt_number": None, "rendering": None,
        "shipping_cost": None,
        "shipping_details": None, "starting_balance": 0, "statement_descriptor": None, "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": amount, "subtotal_excluding_tax": amount, "test_clock": None, "total": amount,
        "total_discount_amounts": [], "total_excluding_tax": amount, "webhooks_delivered_at": now,
        "automatically_finalizes_at": None, "total_pretax_credit_amounts": [], "total_taxes": [],
        "parent": {"quote_details": None, "type": "subscription_details", "subscription_details": {
            "metadata": dict(subscription["metadata"]), "subscription": subscription["id"]}},
        "customer_account": None,
    }  # fmt: skip


_EVIDENCE = (
    "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
    "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
    "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
    "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt", "refund_policy",
    "refund_policy_disclosure", "refund_refusal_explanation", "service_date", "service_documentation",
    "shipping_address", "shipping_carrier", "shipping_date", "shipping_documentation",
    "shipping_tracking_number", "uncategorized_file", "uncategorized_text",
)  # fmt: skip


def dispute(dispute_id: str, now: int, charge: dict, amount: int, reason: str) -> dict:

    card = "card" in charge["payment_method_details"]
    return {
        "amount": amount, "balance_transactions": [], "charge": charge["id"], "created": now,
        "currency": charge["currency"], "evidence": {**dict.fromkeys(_EVIDENCE), "enhanced_evidence": {}},
        "evidence_details": {"due_by": now + 14 * 86400, "has_evidence": False, "past_due": False,
                             "submission_count": 0, "enhanced_eligibility": {}},
        "id": dispute_id, "is_charge_refundable": False, "livemode": False, "metadata": {},
        "object": "dispute", "payment_intent": charge["payment_intent"],
        "payment_method_details": {"card": {"brand": "visa", "case_type": "chargeback",
                                            "network_reason_code": "10.4", "network": "visa"},
                                   "type": "card"} if card else None,
        "reason": reason, "status": "needs_response", "enhanced_eligibility_types": [],
    }  # fmt: skip


def charge_transaction(txn_id: str, now: int, charge: dict) -> dict:
    """The money a succeeded charge brings, less Stripe's fee (1.5 % + 25 cents here)."""
    fee = charge["amount"] * 15 // 1000 + 25
    return {
        "amount": charge["amount"], "available_on": now + 2 * 86400, "created": now,
        "currency": charge["currency"], "description": charge["description"], "exchange_rate": None,
        "fee": fee, "fee_details": [{"amount": fee, "application": None, "currency": charge["currency"],
                                     "description": "Stripe processing fees", "type": "stripe_fee"}],
        "id": txn_id, "net": charge["amount"] - fee, "object": "balance_transaction",
        "reporting_category": "charge", "source": charge["id"], "status": "pending", "type": "charge",
    }  # fmt: skip


def balance_transaction(txn_id: str, now: int, amount: int, dispute: dict, description: str) -> dict:
    """The money a dispute moves: withdrawn with Stripe's dispute fee, given back without it."""
    fee = 2000 if amount < 0 else 0
    return {
        "amount": amount, "available_on": now, "created": now, "currency": dispute["currency"],
        "description": f"{description} for {dispute['charge']}", "exchange_rate": None, "fee": fee,
        "fee_details": [{"amount": fee, "application": None, "currency": dispute["currency"],
                         "description": "Dispute fee", "type": "stripe_fee"}] if fee else [],
        "id": txn_id, "net": amount - fee, "object": "balance_transaction", "reporting_category": "dispute",
        "source": dispute["id"], "status": "available", "type": "adjustment",
    }  # fmt: skip
