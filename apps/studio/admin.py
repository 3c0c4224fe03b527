from django.contrib import admin

from apps.studio import services
from apps.studio.models import GenerationJob


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "owner", "status", "progress", "engine", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    search_fields = ["id", "owner__username", "owner__email"]
    readonly_fields = [f.name for f in GenerationJob._meta.fields]
    actions = ["cancel"]

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        for job in queryset:
            services.job_cancel(job=job)
