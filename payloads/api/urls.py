from django.urls import path

from payloads.api.views import PayloadContentView, PayloadUploadView

urlpatterns = [
    path("payloads", PayloadUploadView.as_view(), name="payload-upload"),
    path("payloads/<str:ref>", PayloadContentView.as_view(), name="payload-content"),
]
