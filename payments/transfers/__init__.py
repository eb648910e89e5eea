"""Gifts by bank transfer: the newsroom's account and a personal reference on the donate page, a GiroCode,
and the bank's export imported by staff, each matched transfer a paid donation."""
