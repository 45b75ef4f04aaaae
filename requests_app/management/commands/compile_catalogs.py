"""Compile the translation catalogs (locale/*/LC_MESSAGES/django.po) into
the .mo files Django reads, with polib: no GNU gettext needed on the
server. The .mo files are not committed; `make run`, `make test`, `make
serve` and the README's deployment steps run this. A catalog with an
error stops it, naming the file; nothing is half-written (each .mo is
written beside, then moved into place)."""

import os
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/django.po into .mo files (polib; no gettext needed)."

    def handle(self, *args, **options):
        compiled = 0
        for folder in settings.LOCALE_PATHS:
            for source in sorted(Path(folder).glob("*/LC_MESSAGES/*.po")):
                target = source.with_suffix(".mo")
                if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
                    continue
                try:
                    catalog = polib.pofile(str(source))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"{source}: {exc}") from exc
                partial = target.with_suffix(".mo.tmp")
                catalog.save_as_mofile(str(partial))
                os.replace(partial, target)
                compiled += 1
        self.stdout.write(f"{compiled} catalog(s) compiled.")
