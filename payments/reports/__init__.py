"""The money figures of the statistics: the ledgers read once, the figures, their tables, and the summaries
kept in the flush that changes the payments (payment tallies, first gifts)."""
