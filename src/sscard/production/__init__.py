"""Card production (制卡): collection and population imports, comparison with the public-security register,
the exceptions queue, production batches with the cooperating banks and the card maker, progress, sealing."""
