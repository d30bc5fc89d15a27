"""The pipeline's Paimon tables through pypaimon, an engine other than streamproof's own reader.

    paimon_tables.py count WAREHOUSE            prints `<database>.<table> <rows>` per table
    paimon_tables.py append-copies WAREHOUSE TABLE N
                                                commits copies of the table's first N rows as
                                                one more snapshot (a writer that duplicates)
"""
import sys

from pypaimon import CatalogFactory


def rows(table):
    read = table.new_read_builder()
    return read.new_read().to_arrow(read.new_scan().plan().splits())


def count(catalog):
    for name in ["bronze.events", "silver.events", "gold.metrics"]:
        print(f"{name} {rows(catalog.get_table(name)).num_rows}")


def append_copies(catalog, name, n):
    table = catalog.get_table(name)
    copies = rows(table).slice(0, n)
    build = table.new_batch_write_builder()
    write = build.new_write()
    commit = build.new_commit()
    write.write_arrow(copies)
    commit.commit(write.prepare_commit())
    write.close()
    commit.close()


command, warehouse = sys.argv[1], sys.argv[2]
catalog = CatalogFactory.create({"warehouse": warehouse})
if command == "count":
    count(catalog)
elif command == "append-copies":
    append_copies(catalog, sys.argv[3], int(sys.argv[4]))
else:
    sys.exit(f"unknown command {command}")
