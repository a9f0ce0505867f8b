"""Contact files in and out: CSV, Excel and vCard import (tables, column mapping, vCard),
the importer with its undo, and exports."""
