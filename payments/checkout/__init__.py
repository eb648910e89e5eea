"""A donation begins: the amount a reader chose, where they came from, Stripe Checkout, and the reader's
pages around it (donate, thanks, cancelled, manage, the supporters' wall)."""
