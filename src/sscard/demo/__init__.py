"""The demo city: a synthetic Qingyuan population with outlets, operators and cards in every state."""
