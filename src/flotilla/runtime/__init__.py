"""The small controller runtime everything else stands on (DESIGN §4)."""
