"""Capture a consenting person from a video: body shape fitted to their silhouette, colours
back-projected from the frames onto the surface, shading divided out, unseen parts filled.

One job per module: ``consent`` (the consent record, refusal without it), ``observe`` (frames
and the person's segmentation masks), ``shape_fit`` (phenotypes matched to the silhouette),
``zbuffer`` + ``backproject`` (colours per surface point per frame, visibility and weights),
``shading`` (the clip's light divided out), ``looks`` (garment types and colours for the spec),
``fill`` (symmetry, then diffusion within a region), ``coverage`` (what was seen), ``albedo``
(the colours as identity data), ``capture`` (the whole run, written all or nothing).
"""

from random_people.avatar.capture.consent import ConsentError, ConsentRecord, consent_record, read_consent

__all__ = ["ConsentError", "ConsentRecord", "consent_record", "read_consent", "capture_person", "CaptureError"]


def __getattr__(name: str):
    if name in ("capture_person", "CaptureError", "CaptureResult"):
        from random_people.avatar.capture import capture as _capture

        return getattr(_capture, name)
    raise AttributeError(name)
