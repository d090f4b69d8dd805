from __future__ import annotations

from django import forms

from monitoring.models import DxaScan, LabResult, Reassessment
from patients.forms import CrispyMixin, date_widgets


class DxaScanForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = DxaScan
        fields = [
            "date",
            "scanner",
            "lumbar_spine_bmd_g_cm2",
            "lumbar_spine_t_score",
            "lumbar_spine_lsc_pct",
            "femoral_neck_bmd_g_cm2",
            "femoral_neck_t_score",
            "femoral_neck_lsc_pct",
            "total_hip_bmd_g_cm2",
            "total_hip_t_score",
            "total_hip_lsc_pct",
        ]
        widgets = date_widgets("date")


class LabResultForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = LabResult
        fields = ["date", "test", "value", "unit"]
        widgets = date_widgets("date")


class ReassessmentForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Reassessment
        fields = ["date", "note"]
        widgets = {**date_widgets("date"), "note": forms.Textarea(attrs={"rows": 3})}
