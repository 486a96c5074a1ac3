"""Cross-region medical settlement (异地就医直接结算) through the provincial hub (docs/cross-region.md)."""
