"""Input and output: importing files of rows, and the whole registry as a JSON Lines archive.

- :mod:`.readers` streams rows from CSV (UTF-8, UTF-8 with BOM, GB18030), XLSX, JSON arrays and JSON Lines;
- :mod:`.headers` knows which Chinese or English header means which field;
- :mod:`.importer` runs an import and reports problems as data; :mod:`.kinds` (organisations, people, volunteers,
  activities), :mod:`.service_kind` (service records, batched) and :mod:`.honour_kinds` (honours,
  nominations) have one handler per kind of row, built on the cell readers and references of :mod:`.values`;
- :mod:`.archive` writes and reads the whole registry.
"""

from . import honour_kinds as _honour_kinds  # noqa: F401  (registers the built-in kinds)
from . import kinds as _kinds  # noqa: F401
from . import service_kind as _service_kind  # noqa: F401
from .archive import export_registry, import_registry
from .importer import ImportInterrupted, ImportReport, Problem, import_file

__all__ = ["ImportInterrupted", "ImportReport", "Problem", "export_registry", "import_file", "import_registry"]
