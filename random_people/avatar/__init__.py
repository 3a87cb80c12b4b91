"""Avatars: who is rendered.

``identity`` describes a person as plain, hashable data (body phenotype, skin, hair, clothes,
provenance) and maps it to Anny's phenotype; ``sampler`` draws diverse or deliberately balanced
sets of such people; ``store`` keeps them as one JSON file per identity. Turning an identity into
Gaussians bound to a body surface lives beside them and consumes only ``IdentitySpec``.
"""
