import os
SECRET_KEY = "x"
DEBUG = True
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions",
                  "django.contrib.admin", "django.contrib.messages", "django.contrib.postgres", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1",
    "PORT": os.environ.get("PGPORT", "5499"), "NAME": os.environ.get("PGDATABASE", "oxibase"),
    "USER": os.environ.get("PGUSER", "oxibase"), "PASSWORD": ""}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SILENCED_SYSTEM_CHECKS = ["admin.E403", "admin.E408", "admin.E409", "admin.E410"]
