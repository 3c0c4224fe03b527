"""``{% asset "css/app.css" %}``: the URL of a web-app asset with its content hash."""
from django import template

from apps.web.views import asset_url

register = template.Library()


@register.simple_tag
def asset(name: str) -> str:
    return asset_url(name)
