"""FHIR R4 in and out (issue 12): the pinned code table (`codes`), the mapping (`mapping`), the
import (`importing`) and the `$everything` export view (`views`)."""
