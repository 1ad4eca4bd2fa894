"""What every report's admin shares."""

from django.contrib import admin


class ReportAdmin(admin.ModelAdmin):
    """A report: rows are read, never added, changed or deleted through the admin
    (superusers included); they come from citizens' visits or from checks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
