"""Orders from an outside order system (the plant's system of record for orders): pages of
orders with their purchase orders and shipments upserted into central, shipments matched to
purchase orders by normalized PO number (orphans kept and linked by hand), and carrier
tracking updates (docs/central-orders.md#order-sync)."""
