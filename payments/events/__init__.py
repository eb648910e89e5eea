"""Stripe's events: the webhook checks the signature, stores each event once and applies it to our
donations and payments, moving states only forward."""
