"""WSGI entry point: `gunicorn intercession.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intercession.settings")

application = get_wsgi_application()
