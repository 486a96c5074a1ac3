"""The electronic social security card (电子社保卡): one per physical card, its status mirrored from the chip card's,
SM2-signed dynamic codes (the SM2 key is held by ``kms``), verification and the revocation list."""
