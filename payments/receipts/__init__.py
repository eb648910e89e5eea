"""Zuwendungsbestätigungen (German tax receipts for donations) for newsrooms that are recognised charities:
issued once per gift with a number that is never reused, kept as PDF, mailed on request and in January."""
