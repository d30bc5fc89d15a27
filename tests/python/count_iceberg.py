"""Row counts of the pipeline's Iceberg tables, read by PyIceberg (an engine other than
streamproof's own reader): prints `<namespace>.<table> <rows>` per table."""
import os
import sys

from pyiceberg.table import StaticTable

warehouse = sys.argv[1]
for namespace, table in [("bronze", "events"), ("silver", "events"), ("gold", "metrics")]:
    metadata = os.path.join(warehouse, namespace, table, "metadata")
    with open(os.path.join(metadata, "version-hint.text")) as hint:
        version = hint.read().strip()
    loaded = StaticTable.from_metadata(os.path.join(metadata, f"v{version}.metadata.json"))
    print(f"{namespace}.{table} {loaded.scan().to_arrow().num_rows}")
