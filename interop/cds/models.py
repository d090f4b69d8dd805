"""What Ossa's CDS Hooks service keeps: the EHRs allowed to call it, the tokens they used, the
cards it returned and what clinicians did with them (the feedback endpoint).

The models are the interop app's (`interop.models` imports them), so their migrations are
`interop/migrations/`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from patients.models import Clinic, Patient


class CdsClient(models.Model):
    """An EHR allowed to call the CDS service: it signs each request with a JWT whose `iss` is
    `issuer`, verified with a key from `jwks_url` or with `public_key_pem`. Patients it names by
    MRN are looked up in `clinic` only."""

    name = models.CharField(max_length=200)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="cds_clients")
    issuer = models.CharField(
        "issuer (iss)",
        max_length=500,
        unique=True,
        help_text="The `iss` claim of the EHR's JWTs, exactly as it sends it.",
    )
    jwks_url = models.URLField(
        "JWKS URL",
        max_length=500,
        blank=True,
        default="",
        help_text="Where the EHR publishes its public keys (JSON Web Key Set).",
    )
    public_key_pem = models.TextField(
        "public key (PEM)",
        blank=True,
        default="",
        help_text="Instead of a JWKS URL: the EHR's RSA or EC public key, PEM-encoded.",
    )
    mrn_system = models.CharField(
        "MRN identifier system",
        max_length=500,
        blank=True,
        default="",
        help_text=(
            "The Patient.identifier system under which the EHR sends the MRN that this clinic "
            "records. Blank: Ossa's own clinic-scoped MRN system."
        ),
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "CDS client"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(jwks_url="", public_key_pem=""),
                name="cdsclient_has_a_key",
                violation_error_message="Give a JWKS URL or a public key.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer})"

    def clean(self) -> None:
        if not self.jwks_url and not self.public_key_pem.strip():
            raise ValidationError("Give a JWKS URL or a public key.")
        if self.public_key_pem.strip():
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            try:
                load_pem_public_key(self.public_key_pem.strip().encode())
            except ValueError as error:
                raise ValidationError(
                    {"public_key_pem": "This is not a PEM-encoded public key."}
                ) from error


class CdsTokenUse(models.Model):
    """A JWT id (`jti`) already accepted from a client: the same token twice is a replay. Rows
    whose token has expired are pruned as new ones arrive (an expired token is refused anyway)."""

    client = models.ForeignKey(CdsClient, on_delete=models.CASCADE, related_name="token_uses")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="cdstokenuse_unique_jti"),
        ]


class CdsService(models.TextChoices):
    PATIENT_VIEW = "ossa-patient-view", "Patient view"
    ORDER_SELECT = "ossa-order-select", "Order select"


class CdsCard(models.Model):
    """A card Ossa returned, kept so that feedback (which names only the card's uuid) can be
    tied to its patient, service and client."""

    uuid = models.UUIDField(unique=True)
    service = models.CharField(max_length=40, choices=CdsService.choices)
    client = models.ForeignKey(
        CdsClient, on_delete=models.PROTECT, null=True, blank=True, related_name="cards"
    )
    #: The patient in Ossa, when the EHR's MRN matched one of the client's clinic.
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="cds_cards"
    )
    patient_reference = models.CharField("EHR patient", max_length=200)
    mrn = models.CharField("MRN", max_length=32, blank=True, default="")
    summary = models.CharField(max_length=140)
    indicator = models.CharField(max_length=10)
    issued_at = models.DateTimeField()

    class Meta:
        verbose_name = "CDS card"

    def __str__(self) -> str:
        return self.summary


class CdsOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    OVERRIDDEN = "overridden", "Overridden"


class CdsFeedback(models.Model):
    """What a clinician in the EHR did with one of Ossa's cards (CDS Hooks feedback)."""

    card_uuid = models.UUIDField("card")
    #: The card as Ossa issued it; None for a uuid Ossa has no record of.
    card = models.ForeignKey(
        CdsCard, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback"
    )
    service = models.CharField(max_length=40, choices=CdsService.choices)
    client = models.ForeignKey(
        CdsClient, on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="cds_feedback"
    )
    patient_reference = models.CharField("EHR patient", max_length=200, blank=True, default="")
    mrn = models.CharField("MRN", max_length=32, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=CdsOutcome.choices)
    accepted_suggestions = models.JSONField(default=list, blank=True)
    override_reason_code = models.CharField(max_length=200, blank=True, default="")
    override_reason_system = models.CharField(max_length=500, blank=True, default="")
    override_reason = models.CharField("override reason", max_length=500, blank=True, default="")
    user_comment = models.TextField(blank=True, default="")
    outcome_at = models.DateTimeField("outcome time")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "CDS feedback"
        verbose_name_plural = "CDS feedback"
        ordering = ["-outcome_at"]
        indexes = [models.Index(fields=["patient", "-outcome_at"])]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.card_uuid}"
